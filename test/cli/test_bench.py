"""`vid2world bench --json`: every figure the issue names, consistent with each other, in one object."""

from __future__ import annotations

import json

import pytest

from ros2_vid2world.cli import main

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


def test_bench_refuses_a_zero_count_in_one_line(capsys):
    assert main(["bench", "--candidates", "0"]) == 2
    # The planner's own rule for its population (one candidate is always the current mean).
    expected = "vid2world bench: error: --candidates must be an integer >= 2. Got 0."
    assert capsys.readouterr().err.strip() == expected
