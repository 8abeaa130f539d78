"""`vid2world bench --json`: every figure the issue names, consistent with each other, in one object."""

from __future__ import annotations

import json
import math

import pytest

from ros2_vid2world.cli import main
from test.svd_pipeline import write_tiny_svd_pipeline

REQUIRED = {
    "naive_frames_per_s", "engine_frames_per_s", "cache_speedup", "max_abs_diff_vs_naive",
    "matmul_peak_gflops", "engine_gflops", "plan_latency_ms", "ort_speedup",
}


def test_bench_json_has_every_figure_and_the_engine_matches_the_full_window_sampler(capsys):
    code = main([
        "bench", "--preset", "tiny", "--json", "--candidates", "4", "--horizon", "2", "--history", "2",
        "--elites", "2", "--iterations", "1", "--steps", "1", "--repeats", "1", "--threads", "1",
    ])
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert REQUIRED <= results.keys()
    assert results["max_abs_diff_vs_naive"] < 1e-3  # the cache changes the cost, not the frames
    assert results["ort_max_abs_diff"] < 1e-3
    assert results["cache_speedup"] == pytest.approx(
        results["engine_frames_per_s"] / results["naive_frames_per_s"], rel=1e-9
    )
    assert results["ort_speedup"] == pytest.approx(
        results["ort_frames_per_s"] / results["engine_frames_per_s"], rel=1e-9
    )
    assert results["bf16_speedup"] == pytest.approx(
        results["bf16_frames_per_s"] / results["engine_frames_per_s"], rel=1e-9
    )
    assert 0 < results["bf16_max_abs_diff"] < 0.25 and results["plan_latency_bf16_ms"] > 0
    assert results["joint_speedup"] == pytest.approx(
        results["joint_frames_per_s"] / results["engine_frames_per_s"], rel=1e-9
    )
    assert results["plan_latency_joint_ms"] > 0
    assert 0 < results["engine_gflops"] and 0 < results["matmul_peak_gflops"]
    # One iteration: the decision's arithmetic is one imagination of the population (+ the cheap cost).
    assert results["plan_gflop"] == pytest.approx(results["imagine_gflop"], rel=0.05)
    assert results["plan_latency_floor_ms"] == pytest.approx(
        1e3 * results["plan_gflop"] / results["matmul_peak_gflops"], rel=1e-9
    )
    assert results["fp32_speedup_ceiling"] == pytest.approx(
        results["matmul_peak_gflops"] / results["engine_gflops"], rel=1e-9
    )
    assert results["torch_threads"] == 1 and "CPUExecutionProvider" in results["ort_providers"]


def test_bench_times_each_method_and_backend_on_the_same_decision_and_shows_progress(capsys):
    code = main([
        "bench", "--preset", "tiny", "--json", "--candidates", "6", "--horizon", "2", "--history", "2",
        "--elites", "2", "--iterations", "2", "--icem-min-population", "4", "--steps", "1", "--repeats", "1",
        "--threads", "1",
    ])
    assert code == 0
    out, err = capsys.readouterr()
    results = json.loads(out)
    methods, backends = results["methods"], results["backends"]
    assert list(methods) == ["cem", "icem", "mppi"]
    # candidates per iteration x 2 frames: cem and mppi score 6 twice; icem 6 then 6 / 1.25 = 5
    assert [methods[m]["frame_evaluations"] for m in methods] == [24, 22, 24]
    assert methods["cem"]["decision_ms"] == results["plan_latency_ms"]  # the decision timed once
    assert list(backends) == ["torch fp32", "torch bf16", "onnxruntime fp32", "onnxruntime int8"]
    assert all(row["decision_ms"] > 0 for row in [*methods.values(), *backends.values()])
    assert math.isfinite(results["int8_psnr_db"]) and results["int8_psnr_db"] >= results["int8_psnr_min_db"]
    assert results["int8_psnr_frames"] > 0 and "synthetic clips" in results["int8_calibration"]
    progress = [line for line in err.splitlines() if line.startswith("bench: ")]
    assert progress[0] == "bench: timing the full-window sampler (1/16)..."
    assert "bench: timing icem decision (10/16)..." in progress and progress[-1].endswith("(16/16)...")


def test_bench_refuses_an_icem_population_floor_under_elites_plus_two(capsys):
    assert main(["bench", "--candidates", "6", "--elites", "4", "--icem-min-population", "5"]) == 2
    expected = (
        "vid2world bench: error: --icem-min-population must be >= elites + 2 = 6 with method icem. Got 5."
    )
    assert capsys.readouterr().err.strip() == expected


def test_data_needs_a_model(capsys):
    assert main(["bench", "--data", "somewhere"]) == 2
    assert "--data applies with --model" in capsys.readouterr().err


def test_bench_refuses_a_zero_count_in_one_line(capsys):
    assert main(["bench", "--candidates", "0"]) == 2
    # The planner's own rule for its population (one candidate is always the current mean).
    expected = "vid2world bench: error: --candidates must be an integer >= 2. Got 0."
    assert capsys.readouterr().err.strip() == expected


SMALL_DECISION = [
    "--candidates", "4", "--horizon", "2", "--history", "2", "--elites", "2", "--iterations", "1",
    "--steps", "1", "--repeats", "1", "--threads", "1",
]


def test_frame_pass_computes_the_decision_a_full_run_counts(capsys):
    """--frame-pass runs one pass and computes the decision; its FLOPs are those torch counts when the
    decision itself runs."""
    assert main(["bench", "--preset", "tiny", "--json", *SMALL_DECISION]) == 0
    full = json.loads(capsys.readouterr().out)
    assert main(["bench", "--preset", "tiny", "--json", "--frame-pass", *SMALL_DECISION]) == 0
    computed = json.loads(capsys.readouterr().out)
    # 1 iteration x (2 frames x 1 step x 4 candidates x 2 for guidance + 1 finished frame x 4 committed)
    assert computed["decision_frame_evaluations"] == 20
    assert computed["frame_pass_frames"] == 8
    # Frame for frame the same arithmetic (but for the per-call micro-conditioning embedding).
    assert computed["frame_pass_gflop"] == pytest.approx(8 * computed["single_frame_gflop"], rel=1e-3)
    assert computed["decision_gflop"] == pytest.approx(full["plan_gflop"], rel=0.01)
    per_frame_s = computed["frame_pass_ms"] / 1e3 / 8
    assert computed["decision_s"] == pytest.approx(
        (computed["history_ms"] + computed["encoders_ms"]) / 1e3 + 20 * per_frame_s, rel=1e-9
    )
    assert computed["decision_floor_s"] == pytest.approx(
        computed["decision_gflop"] / computed["matmul_peak_gflops"], rel=1e-9
    )
    assert computed["image_size"] == computed["latent_size"] == [16, 16]  # the preset's pixel space


def test_size_needs_frame_pass(capsys):
    assert main(["bench", "--size", "32x32"]) == 2
    assert "--size applies with --frame-pass only" in capsys.readouterr().err


@pytest.fixture(scope="module")
def svd_model(tmp_path_factory):
    """A world model transferred from a tiny SVD-shaped pipeline (CLIP and VAE conditioning, EDM noise)."""
    root = tmp_path_factory.mktemp("svd")
    pipeline, model = write_tiny_svd_pipeline(root / "pipeline"), root / "model"
    assert main(["causalize", "--base", str(pipeline), "--action-dim", "2", "--out", str(model)]) == 0
    return model


def test_an_svd_model_is_benched_with_its_image_conditioning_and_onnx_runtime_skipped(svd_model, capsys):
    assert main(["bench", "--model", str(svd_model), "--json", *SMALL_DECISION]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["max_abs_diff_vs_naive"] < 1e-3  # both samplers saw the same conditioning
    assert "ort_speedup" not in results and "runs with backend 'torch'" in results["ort_skipped"]
    assert results["plan_latency_ms"] > 0
    assert list(results["backends"]) == ["torch fp32", "torch bf16"] and "int8_psnr_db" not in results
    assert results["backends_skipped"] == f"onnxruntime fp32 and int8: {results['ort_skipped']}"
    assert main(["bench", "--model", str(svd_model), *SMALL_DECISION]) == 0
    out = capsys.readouterr().out
    assert "  ONNX Runtime: skipped: the onnxruntime backend" in out
    assert "    skipped: onnxruntime fp32 and int8: the onnxruntime backend" in out


def test_frame_pass_of_an_svd_model_counts_its_image_encoders_at_the_size_asked(svd_model, capsys):
    args = ["bench", "--model", str(svd_model), "--json", "--frame-pass", "--size", "16x24", *SMALL_DECISION]
    assert main(args) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["image_size"] == [16, 24] and results["latent_size"] == [4, 6]  # the VAE's factor 4
    assert results["encoders_gflop"] > 0  # CLIP at 224 x 224 and the VAE encoder, once per decision
    assert results["decision_gflop"] > results["encoders_gflop"] + results["history_gflop"]


def test_frame_pass_refuses_a_size_off_the_latent_grid(svd_model, capsys):
    assert main(["bench", "--model", str(svd_model), "--frame-pass", "--size", "30x30"]) == 2
    expected = (
        "vid2world bench: error: the frame size must be a positive multiple of the model's 4-pixel latent "
        "cell. Got 30x30."
    )
    assert capsys.readouterr().err.strip().splitlines()[-1] == expected  # after transformers' progress bar


def test_bench_of_a_model_calibrates_int8_on_the_dataset_given(tmp_path, tiny_model_path, capsys):
    import numpy as np

    from ros2_vid2world.dataset.store import DatasetWriter

    rng = np.random.default_rng(0)
    with DatasetWriter(tmp_path / "data", fps=10) as writer:
        for _ in range(3):
            frames = rng.integers(0, 255, (8, 16, 16, 3), dtype=np.uint8)
            writer.add_episode(frames, rng.normal(size=(8, 2)).astype(np.float32), source="synthetic")
        writer.close()
    assert main(["bench", "--model", str(tiny_model_path), "--data", str(tmp_path / "data"), "--json",
                 *SMALL_DECISION]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["int8_calibration"].endswith(f"clips of dataset {str(tmp_path / 'data')!r}")
    assert math.isfinite(results["int8_psnr_db"])
    assert results["backends"]["onnxruntime int8"]["decision_ms"] > 0
