"""Training from a Stable Video Diffusion pipeline folder: latents encoded once beside the dataset
(resumable), Diffusion Forcing in latent space with SVD's EDM noise and image conditioning, and a
model folder that keeps the VAE and image encoder, which eval-bag evaluates."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from ros2_vid2world.cli import main
from ros2_vid2world.dataset import DatasetWriter, EpisodeDataset
from ros2_vid2world.training.latent_cache import CHUNK, LatentCache
from ros2_vid2world.training.model_parts import latent_parts, open_latent_cache
from ros2_vid2world.world_model.base_pipeline import load_base
from ros2_vid2world.world_model.folder import WorldModelFolder
from ros2_vid2world.world_model.latent_codec import LatentCodec, images_to_unit_range
from test.svd_pipeline import IMAGE_SIZE, write_tiny_svd_pipeline
from test.training.conftest import square_episode

pytestmark = pytest.mark.usefixtures("keep_torch_threads")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    return write_tiny_svd_pipeline(tmp_path_factory.mktemp("svd") / "pipeline", fp16_variant=True)


def squares_dataset(path, episodes=4, length=10, size=IMAGE_SIZE):
    rng = np.random.default_rng(0)
    with DatasetWriter(path, fps=10) as writer:
        for _ in range(episodes):
            writer.add_episode(*square_episode(rng, length, size), source="synthetic")
        writer.close(control_period=0.1, action_space="joint_velocity")
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return squares_dataset(tmp_path_factory.mktemp("data") / "squares")


def test_latent_cache_holds_the_vae_latents_and_clip_embeddings_of_every_frame(pipeline, dataset):
    data = EpisodeDataset(dataset)
    parts = latent_parts(load_base(pipeline), None, data)
    cache = open_latent_cache(data, parts)
    assert cache.path.parent.name == "squares.latents" and cache.path.parent.parent == dataset.parent
    pixels = images_to_unit_range(torch.from_numpy(np.array(data.frames[:5])))
    expected = LatentCodec(parts["vae"]).encode(pixels[None])[0]
    torch.testing.assert_close(torch.from_numpy(np.array(cache.latents[:5])), expected, atol=1e-4, rtol=1e-4)
    assert cache.latents.shape == (len(data.frames), 4, IMAGE_SIZE // 4, IMAGE_SIZE // 4)
    assert cache.embeddings.shape == (len(data.frames), 32)
    # Opened again, not encoded again: the same files.
    assert open_latent_cache(data, parts).path == cache.path


def test_an_interrupted_encoding_resumes_to_the_same_cache(pipeline, tmp_path):
    data = EpisodeDataset(squares_dataset(tmp_path / "squares", episodes=5, length=8))
    parts = latent_parts(load_base(pipeline), None, data)
    complete = open_latent_cache(data, parts)
    full = {name: np.array(getattr(complete, name)) for name in ("latents", "embeddings")}
    # Leave what a run killed during its second chunk leaves: one chunk recorded, part of the next.
    staging = complete.path.parent / f".{complete.path.name}.partial"
    staging.mkdir()
    for name, array in full.items():
        (staging / f"{name}.raw").write_bytes(array[:CHUNK].tobytes() + array[CHUNK : CHUNK + 3].tobytes())
    shapes = {name: list(array.shape[1:]) for name, array in full.items()}
    (staging / "progress.json").write_text(json.dumps({"frames": CHUNK, "shapes": shapes}))
    shutil.rmtree(complete.path)
    resumed = LatentCache.build(data, LatentCodec(parts["vae"]), _conditioner(parts))
    for name, array in full.items():
        np.testing.assert_array_equal(np.array(getattr(resumed, name)), array)
    assert not staging.exists()


def _conditioner(parts):
    from ros2_vid2world.training.model_parts import parts_conditioner

    return parts_conditioner(parts)


def test_frames_of_another_size_are_refused(pipeline, tmp_path, capsys):
    small = squares_dataset(tmp_path / "small", episodes=2, length=6, size=16)
    argv = ["train", "--base", str(pipeline), "--data", str(small), "--out", str(tmp_path / "m"), "--steps=1"]
    assert main(argv) == 2
    line = capsys.readouterr().err.strip()
    assert "--base works on 32x32 frames (its 8x8 latents)" in line and "--size 32x32" in line
    assert not (tmp_path / "m").exists()


def test_train_from_svd_then_eval_bag_on_the_dataset(pipeline, dataset, tmp_path):
    out = tmp_path / "model"
    argv = [
        "train", "--base", str(pipeline), "--data", str(dataset), "--out", str(out), "--steps", "3",
        "--batch-size", "2", "--clip-frames", "4", "--checkpoint-every", "3", "--log-every", "1",
        "--warmup-steps", "1", "--holdout-episodes", "1", "--threads", "1",
    ]
    assert main(argv) == 0
    folder = WorldModelFolder.load(out)
    assert folder.model.config.conditioning == "image"
    assert type(folder.scheduler).__name__ == "EulerDiscreteScheduler"
    assert type(folder.vae).__name__ == "AutoencoderKLTemporalDecoder"
    assert folder.image_encoder is not None and folder.image_size == (IMAGE_SIZE, IMAGE_SIZE)
    assert folder.action_stats == EpisodeDataset(dataset).action_stats
    rows = (out.parent / "model.training" / "metrics.csv").read_text().splitlines()[1:]
    assert len(rows) == 3 and all(np.isfinite(float(row.split(",")[2])) for row in rows)
    # Training moved the weights the base came with (the action embedding starts at zero).
    action_weights = folder.model.action_embedding.mlp[-1].weight
    assert action_weights.abs().sum() > 0

    report = tmp_path / "report"
    quick = ["--context", "2", "--horizon", "2", "--starts", "2", "--denoise-steps", "2",
             "--planner-starts", "1", "--population", "4", "--elites", "2", "--iterations", "1",
             "--threads", "1"]  # fmt: skip
    argv = ["eval-bag", "--dataset", str(dataset), "--model", str(out), "--out", str(report), *quick]
    assert main(argv) == 0
    summary = json.loads((report / "report.json").read_text())
    assert len(summary["psnr"]) == 2 and all(np.isfinite(summary["psnr"]))
