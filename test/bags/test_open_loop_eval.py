"""Open-loop evaluation: starting points, the alignment of history, actions and targets, and the baseline."""

import numpy as np
import pytest
import torch

from ros2_vid2world.bags import open_loop_eval
from ros2_vid2world.bags.eval_report import object_turns_markdown, state_error_markdown, summarise
from ros2_vid2world.bags.image_metrics import PSNR_CAP_DB
from ros2_vid2world.bags.open_loop_eval import (
    OpenLoopConfig,
    evaluate_open_loop,
    starting_points,
)
from ros2_vid2world.world_model.folder import WorldModelFolder
from ros2_vid2world.world_model.state_probe import StateProbe


def test_starting_points_leave_room_for_context_and_horizon():
    points = starting_points([10, 3, 7], context=3, horizon=2, count=100)
    assert points == [(0, t) for t in range(2, 8)] + [(2, t) for t in range(2, 5)]
    spread = starting_points([10, 3, 7], context=3, horizon=2, count=3)
    assert spread == [(0, 2), (0, 6), (2, 4)]  # first, middle and last of the 9
    with pytest.raises(ValueError, match="no episode is long enough for --context 3 \\+ --horizon 5"):
        starting_points([6, 7], context=3, horizon=5, count=4)


def brightness_episode(increments: list[int], start: int = 20, size=(16, 16)) -> dict:
    """Flat frames whose brightness changes by increments[t] after frame t; the action says by how much."""
    levels = np.concatenate([[start], start + np.cumsum(increments)])
    frames = np.stack([np.full((*size, 3), level, np.uint8) for level in levels])
    actions = np.array([[d, 0.0] for d in increments] + [[0.0, 0.0]], np.float32)
    return {"frames": frames, "actions": actions}


def oracle_rollout(self, history, history_actions, actions, generator=None, conditioning=None):
    """A perfect model of the brightness world: each action adds its first value (in 0..255 units)."""
    frame, imagined = history[:, -1:], []
    for j in range(actions.shape[1]):
        frame = frame + actions[:, j, 0].reshape(-1, 1, 1, 1, 1) / 127.5
        imagined.append(frame)
    return torch.cat(imagined, dim=1)


def test_a_perfect_model_scores_the_cap_and_copy_last_scores_the_formula(monkeypatch, tiny_model_path):
    monkeypatch.setattr(open_loop_eval.AutoregressiveSampler, "rollout", oracle_rollout)
    folder = WorldModelFolder.load(tiny_model_path)
    increments = [5, 10, 15] * 4
    episodes = [brightness_episode(increments), brightness_episode(increments[::-1], start=60)]
    config = OpenLoopConfig(context=3, horizon=3, starts=100, batch_size=4)
    result = evaluate_open_loop(folder, episodes, config)
    # Any misalignment (history, actions or targets off by one) would break the perfect scores.
    np.testing.assert_array_equal(result.psnr, PSNR_CAP_DB)
    np.testing.assert_allclose(result.ssim, 1.0, atol=1e-12)
    # Copy-last is off by the brightness change accumulated since the last context frame.
    for row, (e, t) in enumerate(result.starts):
        change = np.cumsum((increments if e == 0 else increments[::-1])[t : t + 3])
        np.testing.assert_allclose(result.copy_last_psnr[row], 20 * np.log10(255 / change))
    assert len(result.starts) == 2 * (13 - 3 - 2)
    assert result.recorded_examples.shape == (4, 6, 16, 16, 3) and result.imagined_examples.shape == (
        4,
        3,
        16,
        16,
        3,
    )


def test_static_scene_with_a_random_model(tiny_model_path, one_torch_thread):
    folder = WorldModelFolder.load(tiny_model_path)
    grey = np.full((8, 16, 16, 3), 90, np.uint8)
    episodes = [{"frames": grey, "actions": np.zeros((8, 2), np.float32)}]
    result = evaluate_open_loop(
        folder, episodes, OpenLoopConfig(context=2, horizon=2, starts=2, denoise_steps=1)
    )
    np.testing.assert_array_equal(result.copy_last_psnr, PSNR_CAP_DB)
    np.testing.assert_allclose(result.copy_last_ssim, 1.0)
    # An untrained model imagines noise: finite, far below copying the last frame.
    assert result.psnr.shape == (2, 2) and np.isfinite(result.psnr).all() and (result.psnr < 30).all()


def test_actions_are_normalised_with_the_folders_statistics(tiny_model_path):
    folder = WorldModelFolder.load(tiny_model_path)
    actions = np.array([[1.0, 4.0]], np.float32)
    np.testing.assert_array_equal(folder.action_normalization.normalize(actions), actions)
    folder.action_stats = {"mean": [1.0, 2.0], "std": [2.0, 4.0]}
    np.testing.assert_allclose(folder.action_normalization.normalize(actions), [[0.0, 0.5]])


def test_shuffled_actions_show_how_much_the_prediction_depends_on_them(monkeypatch, tiny_model_path):
    """The perfect brightness model is perfect with its own actions and wrong with another start's;
    a model that ignored actions would score the same both ways."""
    monkeypatch.setattr(open_loop_eval.AutoregressiveSampler, "rollout", oracle_rollout)
    folder = WorldModelFolder.load(tiny_model_path)
    increments = [5, 10, 15, 20] * 3
    episodes = [brightness_episode(increments), brightness_episode(increments[::-1], start=60)]
    config = OpenLoopConfig(context=2, horizon=2, starts=6, batch_size=4, shuffled_actions=True)
    result = evaluate_open_loop(folder, episodes, config)
    np.testing.assert_array_equal(result.psnr, PSNR_CAP_DB)
    assert result.shuffled_psnr.shape == result.psnr.shape
    assert (result.shuffled_psnr < PSNR_CAP_DB).any() and (result.shuffled_psnr <= result.psnr).all()
    assert evaluate_open_loop(folder, episodes, OpenLoopConfig(context=2, horizon=2)).shuffled_psnr is None


def brightness_probe(monkeypatch) -> StateProbe:
    """A probe of the brightness world: it reads one length, 0.1 m x the frame's mean level in [-1, 1]."""
    probe = StateProbe(joint_names=["level"], periodic=[False], image_size=(16, 16), units=["m"])

    def read(self, images):
        level = images.mean(dim=(1, 2, 3))[:, None]
        return torch.cat([torch.ones_like(level), level], dim=1)  # a length's pair: (1, q / 0.1 m)

    monkeypatch.setattr(StateProbe, "forward", read)
    return probe


def test_state_read_off_imagined_frames_is_exact_for_a_perfect_model(monkeypatch, tiny_model_path):
    """With a probe in the folder, the state error is the probe's reading of each imagined frame
    against its reading of the recorded one: zero for the perfect model, the accumulated change for
    copy-last, and not zero with another start's actions."""
    monkeypatch.setattr(open_loop_eval.AutoregressiveSampler, "rollout", oracle_rollout)
    folder = WorldModelFolder.load(tiny_model_path)
    folder.state_probe = brightness_probe(monkeypatch)
    increments = [5, 10, 15, 20] * 3
    episodes = [brightness_episode(increments), brightness_episode(increments[::-1], start=60)]
    config = OpenLoopConfig(context=2, horizon=3, starts=8, batch_size=4, shuffled_actions=True)
    result = evaluate_open_loop(folder, episodes, config)
    assert result.state_names == ["level"] and result.state_units == ["mm"]
    assert result.state_error.shape == (8, 3, 1)
    np.testing.assert_allclose(result.state_error, 0.0, atol=1e-3)
    for row, (e, t) in enumerate(result.starts):
        change = np.cumsum((increments if e == 0 else increments[::-1])[t : t + 3])
        np.testing.assert_allclose(result.copy_last_state_error[row, :, 0], 100 * change / 127.5, rtol=1e-4)
    assert (result.shuffled_state_error > 1.0).any()
    summary = summarise(result, None, {})["state_error"]["level"]
    assert summary["unit"] == "mm" and summary["imagined"] == [0.0, 0.0, 0.0]
    assert summary["copy_last"] == [
        round(float(v), 3) for v in np.median(result.copy_last_state_error, 0)[:, 0]
    ]
    assert "| level | 2 | 0.0 mm |" in "\n".join(state_error_markdown({"level": summary}))


def test_no_state_error_without_a_probe(monkeypatch, tiny_model_path):
    monkeypatch.setattr(open_loop_eval.AutoregressiveSampler, "rollout", oracle_rollout)
    folder = WorldModelFolder.load(tiny_model_path)
    result = evaluate_open_loop(folder, [brightness_episode([5] * 8)], OpenLoopConfig(context=2, horizon=2))
    assert result.state_error is None and "state_error" not in summarise(result, None, {})


def yaw_probe(monkeypatch) -> StateProbe:
    """A probe that reads an object's yaw off the brightness world: the frame's mean level in [-1, 1], as
    radians (a change of 30 levels is 13.5 degrees)."""
    probe = StateProbe(joint_names=["object_yaw"], periodic=[True], image_size=(16, 16), units=["rad"])

    def read(self, images):
        level = images.mean(dim=(1, 2, 3))[:, None]
        return torch.cat([torch.cos(level), torch.sin(level)], dim=1)

    monkeypatch.setattr(StateProbe, "forward", read)
    return probe


@pytest.mark.parametrize(("gain", "same_direction"), [(1.0, 1.0), (0.5, 1.0), (0.0, 0.0), (-1.0, 0.0)])
def test_object_turns_tell_a_wrong_way_turn_from_a_damped_one(
    monkeypatch, tiny_model_path, gain, same_direction
):
    """The turn summary compares the imagined turn with the recorded one, signed: a model that turns the
    object half as far keeps the direction at scale 0.5, one that never turns it and one that turns it
    the wrong way both get the direction wrong, at scales 0 and -1 (their yaw errors alone differ)."""

    def scaled_rollout(self, history, history_actions, actions, generator=None, conditioning=None):
        return oracle_rollout(self, history, history_actions, actions * gain)

    monkeypatch.setattr(open_loop_eval.AutoregressiveSampler, "rollout", scaled_rollout)
    folder = WorldModelFolder.load(tiny_model_path)
    folder.state_probe = yaw_probe(monkeypatch)
    # Turns one way, then the other: 30 levels (13.5 degrees) a step, and a still step (no turn counted).
    # Levels kept within 0-255 either way (a clipped frame would turn less).
    episodes = [
        brightness_episode([30, 30, 0, 30], start=100),
        brightness_episode([-30, -30, 0, -30], start=160),
    ]
    result = evaluate_open_loop(folder, episodes, OpenLoopConfig(context=1, horizon=2, starts=100))
    turns = summarise(result, None, {})["object_turns"]
    # Starts at frames 0-2 of each episode; step 1 turned at frames 0 and 1 (frame 2 is the still step),
    # step 2 at all three (two steps of 30 or 30 + 0).
    assert turns["turned"] == [4, 6]
    assert turns["same_direction"] == [same_direction, same_direction]
    assert turns["turn_scale"] == pytest.approx([gain, gain], abs=1e-3)
    np.testing.assert_allclose(np.abs(result.object_turns[0, 0]), [13.48, 13.48 * abs(gain)], atol=0.05)
    table = "\n".join(object_turns_markdown(turns))
    assert f"| 2 | 6 | {same_direction:.2f} | {gain:.2f} |" in table


def test_no_object_turns_without_an_object_yaw(monkeypatch, tiny_model_path):
    monkeypatch.setattr(open_loop_eval.AutoregressiveSampler, "rollout", oracle_rollout)
    folder = WorldModelFolder.load(tiny_model_path)
    folder.state_probe = brightness_probe(monkeypatch)
    result = evaluate_open_loop(folder, [brightness_episode([5] * 8)], OpenLoopConfig(context=2, horizon=2))
    assert result.object_turns is None and "object_turns" not in summarise(result, None, {})
