"""`train`: both stages write a loadable model; a run resumes exactly; a second run is refused."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from ros2_vid2world.dataset import EpisodeDataset
from ros2_vid2world.training import TrainConfig, train
from ros2_vid2world.world_model.folder import WorldModelFolder


def config(data, out, **overrides) -> TrainConfig:
    settings = dict(
        data=data, out=out, preset="tiny", pretrain_steps=2, steps=4, clip_frames=4, batch_size=2,
        checkpoint_every=2, log_every=1, warmup_steps=1, holdout_episodes=1,
    )
    return TrainConfig(**{**settings, **overrides})


def metrics_rows(work_dir) -> list[dict]:
    with open(work_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def ema_weights(out) -> dict[str, torch.Tensor]:
    return load_file(out / "world_model" / "diffusion_pytorch_model.safetensors")


def test_train_writes_a_world_model_with_the_dataset_action_stats(square_dataset, tmp_path):
    summary = train(config(square_dataset, tmp_path / "model"))

    folder = WorldModelFolder.load(tmp_path / "model")
    assert folder.model.config.action_dim == 2
    assert folder.model.config.max_frames == 4
    assert folder.image_size == (16, 16)
    assert folder.action_stats == EpisodeDataset(square_dataset).action_stats
    assert folder.control_period == EpisodeDataset(square_dataset).control_period
    assert (tmp_path / "model.training" / "base" / "config.json").is_file()
    with open(tmp_path / "model.training" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["stage"], int(r["step"])) for r in rows] == [
        ("pretrain", 1), ("pretrain", 2), ("transfer", 1), ("transfer", 2), ("transfer", 3), ("transfer", 4)
    ]
    assert summary["holdout_episodes"] == [5]
    assert summary["stages"]["transfer"]["steps"] == 4


def test_a_resumed_run_ends_exactly_where_an_uninterrupted_one_does(square_dataset, tmp_path):
    train(config(square_dataset, tmp_path / "straight"))
    interrupted = config(square_dataset, tmp_path / "interrupted")
    train(interrupted)
    # Make it look killed after the step-2 checkpoint, in the middle of writing step 4's.
    checkpoints = interrupted.work_dir / "checkpoints"
    shutil.rmtree(checkpoints / "transfer-step-0000004")
    (checkpoints / ".transfer-step-0000004.half").mkdir()
    (checkpoints / "latest").write_text("transfer-step-0000002\n")
    shutil.rmtree(tmp_path / "interrupted")

    summary = train(interrupted, resume=True)

    assert summary["stages"]["transfer"]["started_at"] == 2
    # The same batches from the same state: the same losses and Adam moments, to float rounding.
    rows = {name: metrics_rows(tmp_path / f"{name}.training") for name in ("straight", "interrupted")}
    assert [(r["stage"], int(r["step"])) for r in rows["interrupted"]].count(("transfer", 3)) == 1
    for ours, theirs in zip(rows["interrupted"], rows["straight"], strict=True):
        assert float(ours["loss"]) == pytest.approx(float(theirs["loss"]), rel=1e-6, abs=1e-7)
    final = "checkpoints/transfer-step-0000004/optimizer.safetensors"
    moments = [load_file(tmp_path / f"{name}.training" / final) for name in ("straight", "interrupted")]
    for name in moments[0]:
        torch.testing.assert_close(moments[1][name], moments[0][name], rtol=1e-4, atol=1e-7, msg=name)
    # Weights: Adam divides by the root of the second moment, so in parameters whose gradients are
    # ~0 it turns float rounding (which differs between two processes' memory layouts on some CPUs)
    # into steps of up to the learning rate; a lost optimizer state or EMA would differ by far more.
    straight, resumed = ema_weights(tmp_path / "straight"), ema_weights(tmp_path / "interrupted")
    assert straight.keys() == resumed.keys()
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name], rtol=1e-4, atol=1e-4, msg=name)


def test_a_second_run_in_the_same_work_dir_is_refused_without_resume_or_force(square_dataset, tmp_path):
    first = config(square_dataset, tmp_path / "model", pretrain_steps=0, steps=2)
    train(first)
    with pytest.raises(ValueError, match="--resume"):
        train(first)
    assert train(first, force=True)["stages"]["transfer"]["started_at"] == 0


def test_a_base_of_another_image_size_is_refused(square_dataset, tmp_path):
    from ros2_vid2world.world_model.presets import base_unet_from_preset

    unet = base_unet_from_preset("tiny")
    unet.register_to_config(sample_size=32)
    unet.save_pretrained(tmp_path / "base32", safe_serialization=True)
    with pytest.raises(ValueError, match="32x32 frames; the dataset has 3-channel 16x16"):
        train(config(square_dataset, tmp_path / "model", base=tmp_path / "base32"))


def test_bad_settings_are_refused_on_construction(square_dataset, tmp_path):
    with pytest.raises(ValueError, match="`clip_frames` must be an integer >= 2"):
        config(square_dataset, tmp_path / "m", clip_frames=1)
    with pytest.raises(ValueError, match="`weight_transfer` must be one of"):
        config(square_dataset, tmp_path / "m", weight_transfer="mixed")


def test_clips_longer_than_every_episode_are_refused(square_dataset, tmp_path):
    with pytest.raises(ValueError, match="no episode has 9 frames"):
        train(config(square_dataset, tmp_path / "model", clip_frames=9))


def test_summary_is_json_serialisable(square_dataset, tmp_path):
    summary = train(config(square_dataset, tmp_path / "model", pretrain_steps=0, steps=1))
    assert json.loads(json.dumps(summary))["num_processes"] == 1


def test_export_latest_writes_the_newest_checkpoints_ema(square_dataset, tmp_path):
    from ros2_vid2world.training import export_latest

    run = config(square_dataset, tmp_path / "model", pretrain_steps=0, steps=2)
    with pytest.raises(ValueError, match="no transfer-stage checkpoint"):
        export_latest(run)
    train(run)
    exported = export_latest(config(square_dataset, tmp_path / "copy", pretrain_steps=0, steps=2,
                                    work_dir=run.work_dir))
    assert exported["step"] == 2
    for name, tensor in ema_weights(tmp_path / "model").items():
        torch.testing.assert_close(ema_weights(tmp_path / "copy")[name], tensor, rtol=0, atol=0)


def test_a_patch_preset_trains_on_pixel_patches(square_dataset, tmp_path):
    # The patch4 preset folds 4x4 pixel patches into 48 channels: 16x16 frames become 4x4 samples.
    train(config(square_dataset, tmp_path / "model", preset="patch4", pretrain_steps=1, steps=1))
    folder = WorldModelFolder.load(tmp_path / "model")
    assert folder.codec.patch_size == 4 and folder.image_size == (16, 16)
    assert folder.model.sample_channels == 48 and folder.model.unet.config.sample_size == 4


def test_a_base_whose_channels_fit_no_patch_size_is_refused(square_dataset, tmp_path):
    from diffusers import UNetSpatioTemporalConditionModel

    from ros2_vid2world.world_model.presets import BASE_PRESETS

    # 8x8 samples of a 16x16 image would be 2x2 patches of 12 channels, not 8.
    unet = UNetSpatioTemporalConditionModel(
        **{**BASE_PRESETS["tiny"], "sample_size": 8, "in_channels": 8, "out_channels": 8}
    )
    unet.save_pretrained(tmp_path / "base8", safe_serialization=True)
    with pytest.raises(ValueError, match="fold to that only as p x p patches with 3 p\\^2 = 8"):
        train(config(square_dataset, tmp_path / "model", base=tmp_path / "base8"))


def _squares(path, action_scale: float = 1.0, action_dim: int = 2):
    """Square episodes like the shared fixture's, with actions in other units (or more of them)."""
    import numpy as np

    from ros2_vid2world.dataset import DatasetWriter

    from .conftest import square_episode

    rng = np.random.default_rng(1)
    with DatasetWriter(path, fps=10) as writer:
        for _ in range(4):
            frames, actions = square_episode(rng, 8)
            actions = np.concatenate([actions] + [actions[:, :1]] * (action_dim - 2), axis=1)
            writer.add_episode(frames, actions * action_scale, source="synthetic")
        writer.close()
    return path


def test_init_fine_tunes_the_given_world_model_and_keeps_its_action_units(square_dataset, tmp_path):
    # Another initialisation than the runs below start from, so weights tell which model a run began with.
    train(config(square_dataset, tmp_path / "first", pretrain_steps=0, steps=2, seed=1))
    # New data in other action units: the fine-tuned model must keep reading actions the way it learned.
    other_units = _squares(tmp_path / "scaled", action_scale=3.0)
    summary = train(
        config(other_units, tmp_path / "tuned", init=tmp_path / "first", pretrain_steps=5, steps=1,
               learning_rate=1e-12, clip_frames=4)
    )

    assert "pretrain" not in summary["stages"]  # no base to pre-train: the world model is the start
    first, tuned = WorldModelFolder.load(tmp_path / "first"), WorldModelFolder.load(tmp_path / "tuned")
    assert tuned.action_stats == first.action_stats != EpisodeDataset(other_units).action_stats
    start, end = ema_weights(tmp_path / "first"), ema_weights(tmp_path / "tuned")
    assert start.keys() == end.keys()
    for name in start:  # one step at a negligible learning rate: still the model it started from
        torch.testing.assert_close(end[name], start[name], rtol=0, atol=1e-5, msg=name)
    train(config(other_units, tmp_path / "fresh", pretrain_steps=0, steps=1))
    fresh = ema_weights(tmp_path / "fresh")  # without --init the same run starts elsewhere
    assert any(not torch.allclose(fresh[name], start[name], atol=1e-2) for name in start)


def test_init_refuses_a_dataset_of_another_action_dimension(tmp_path, square_dataset):
    train(config(square_dataset, tmp_path / "first", pretrain_steps=0, steps=1))
    three = _squares(tmp_path / "three", action_dim=3)
    with pytest.raises(ValueError, match="takes 2-dimensional actions; the dataset .* has 3"):
        train(config(three, tmp_path / "tuned", init=tmp_path / "first"))
    assert not (tmp_path / "tuned").exists()


def test_init_and_base_exclude_each_other(square_dataset, tmp_path):
    with pytest.raises(ValueError, match="--base and --init exclude each other"):
        config(square_dataset, tmp_path / "m", base=tmp_path / "b", init=tmp_path / "i")


def test_an_image_to_video_preset_trains_with_the_first_frame_in_extra_channels(square_dataset, tmp_path):
    from ros2_vid2world.training.base_diffusion import video_diffusion_loss
    from ros2_vid2world.world_model.noise_schedule import make_scheduler
    from ros2_vid2world.world_model.presets import base_unet_from_preset

    train(config(square_dataset, tmp_path / "model", preset="patch2_i2v", pretrain_steps=1, steps=1))
    folder = WorldModelFolder.load(tmp_path / "model")
    assert folder.codec.patch_size == 2 and folder.image_size == (16, 16)
    assert folder.model.sample_channels == 12 and folder.model.unet.config.in_channels == 24

    def first_layer_inputs(unet, run) -> torch.Tensor:
        seen = []
        handle = unet.conv_in.register_forward_hook(lambda module, args, out: seen.append(args[0]))
        with torch.no_grad():
            run()
        handle.remove()
        return seen[0].unflatten(0, (1, -1))  # [1, F, 24, h, w]

    # Stage (a): every frame gets the clean first frame; stage (b): the window's first frame as given.
    clean = torch.randn(1, 3, 12, 8, 8)
    base = base_unet_from_preset("patch2_i2v")
    seen = first_layer_inputs(base, lambda: video_diffusion_loss(base, make_scheduler(), clean, "epsilon"))
    assert all(torch.equal(seen[0, f, 12:], clean[0, 0]) for f in range(3))
    sample = torch.randn(1, 3, 12, 8, 8)
    model = folder.model
    levels = torch.tensor([[20, 999, 999]])
    seen = first_layer_inputs(model.unet, lambda: model(sample, levels, torch.zeros(1, 3, 2)))
    assert all(torch.equal(seen[0, f, 12:], sample[0, 0]) for f in range(3))


def test_resuming_with_other_settings_is_refused_and_a_longer_run_is_not(square_dataset, tmp_path):
    first = config(square_dataset, tmp_path / "model", pretrain_steps=0, steps=2)
    train(first)
    changed = config(square_dataset, tmp_path / "model", pretrain_steps=0, steps=2, learning_rate=1e-3,
                     terminal_prob=0.5, clean_context_prob=0.5)
    with pytest.raises(ValueError, match=r"--lr 0.0002 -> 0.001.*--clean-context-prob 0.0 -> 0.5") as error:
        train(changed, resume=True)
    assert "--terminal-prob" in str(error.value) and "--force" in str(error.value)
    # The refused resume left the run as it was: its checkpoint and its recorded settings.
    saved = json.loads((first.work_dir / "train_config.json").read_text())
    assert saved["learning_rate"] == 2e-4 and (first.work_dir / "checkpoints" / "latest").is_file()

    longer = config(square_dataset, tmp_path / "again", pretrain_steps=0, steps=4, work_dir=first.work_dir)
    summary = train(longer, resume=True)
    assert summary["stages"]["transfer"]["started_at"] == 2 and summary["stages"]["transfer"]["steps"] == 4


def test_stop_at_then_resume_ends_where_an_uninterrupted_run_does(square_dataset, tmp_path):
    """A recipe stage that stops early on a long schedule (stop_at) and a later one that goes on."""
    straight = train(config(square_dataset, tmp_path / "straight", pretrain_steps=0, steps=4))
    stopped = config(square_dataset, tmp_path / "stopped", pretrain_steps=0, steps=4, stop_at=2)
    first = train(stopped)
    assert first["stages"]["transfer"]["steps"] == 2 and first["stages"]["transfer"]["schedule_steps"] == 4
    assert WorldModelFolder.load(tmp_path / "stopped").model is not None  # written at the stop
    rows = metrics_rows(stopped.work_dir)
    assert [int(r["step"]) for r in rows] == [1, 2]
    # The learning rate at the stop is the 4-step schedule's, not a 2-step one's (which would be 0).
    straight_rows = metrics_rows(tmp_path / "straight.training")
    assert float(rows[-1]["lr"]) == pytest.approx(float(straight_rows[1]["lr"]))
    resumed = train(config(square_dataset, tmp_path / "stopped", pretrain_steps=0, steps=4), resume=True)
    assert resumed["stages"]["transfer"]["started_at"] == 2
    assert resumed["weights_checksum"] == pytest.approx(straight["weights_checksum"], rel=1e-5)


def test_steps_0_pre_trains_only_and_writes_the_base(square_dataset, tmp_path):
    summary = train(config(square_dataset, tmp_path / "m", pretrain_steps=2, steps=0))
    assert summary["out"] == str(tmp_path / "m.training" / "base")
    assert (tmp_path / "m.training" / "base" / "config.json").is_file()
    assert not (tmp_path / "m").exists()
    with pytest.raises(ValueError, match="--steps 0 pre-trains a base only"):
        config(square_dataset, tmp_path / "m2", pretrain_steps=0, steps=0)


def test_stage_a_pre_trains_on_other_action_free_video(square_dataset, tmp_path):
    """--pretrain-data: other domains' video (no actions) for stage (a); stage (b) on the labelled data."""
    from ros2_vid2world.sim.domain_video import record_domain_video

    other = tmp_path / "cheetah"
    record_domain_video(other, "cheetah", episodes=2, steps=6, size=16)
    summary = train(config(square_dataset, tmp_path / "m", pretrain_data=(other,), pretrain_steps=2, steps=1))
    assert summary["stages"]["pretrain"]["steps"] == 2 and summary["stages"]["transfer"]["steps"] == 1
    assert WorldModelFolder.load(tmp_path / "m").model.config.action_dim == 2
    with pytest.raises(ValueError, match="holds no actions \\(action-free video\\): pre-train on it with"):
        train(config(other, tmp_path / "m2"))
    record_domain_video(tmp_path / "big", "cheetah", episodes=1, steps=6, size=24)
    with pytest.raises(ValueError, match="has 24x24 frames; --data has 16x16"):
        train(config(square_dataset, tmp_path / "m3", pretrain_data=(tmp_path / "big",)))


def test_embedding_scale_added_to_an_init_model_starts_at_zero_and_trains(square_dataset, tmp_path):
    train(config(square_dataset, tmp_path / "first", pretrain_steps=0, steps=1))
    train(config(square_dataset, tmp_path / "scaled", init=tmp_path / "first", pretrain_steps=0, steps=2,
                 embedding_scale=True, action_lr_scale=10.0))
    first, scaled = ema_weights(tmp_path / "first"), ema_weights(tmp_path / "scaled")
    added = sorted(set(scaled) - set(first))
    assert added and all(name.startswith("embedding_scales.") for name in added)
    assert set(first) <= set(scaled)
    assert any(scaled[name].abs().max() > 0 for name in added)  # trained off their zero start
    assert WorldModelFolder.load(tmp_path / "scaled").model.config.embedding_scale is True


def test_turn_oversampling_without_object_poses_is_refused_before_writing(square_dataset, tmp_path):
    with pytest.raises(ValueError, match="keeps no object poses: --turn-oversampling needs them"):
        train(config(square_dataset, tmp_path / "model", turn_oversampling=1.0))
    assert not (tmp_path / "model").exists() and not (tmp_path / "model.training").exists()
    with pytest.raises(ValueError, match="turn_oversampling"):
        config(square_dataset, tmp_path / "model", turn_oversampling=-1.0)
