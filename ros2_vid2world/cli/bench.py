"""`vid2world bench`: imagination and planning speed on this machine."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..benchmark import BenchSettings
from ..settings import declared_settings
from ..world_model.presets import BASE_PRESETS
from .setting_options import add_setting_options, from_args
from .torch_threads import set_torch_threads

# The options named as before the settings were declared once.
BENCH_FLAGS = {"history_frames": "history", "denoise_steps": "steps"}

ROWS = (
    ("naive_frames_per_s", "full-window sampler", "frames/s"),
    ("engine_frames_per_s", "cached imagination engine", "frames/s"),
    ("cache_speedup", "engine / full-window", "x"),
    ("max_abs_diff_vs_naive", "engine vs full-window, same noise", "max |diff|"),
    ("matmul_peak_gflops", "fp32 matmul ceiling (torch)", "GFLOP/s"),
    ("engine_gflops", "engine, counted FLOPs / time", "GFLOP/s"),
    ("engine_fraction_of_peak", "engine / ceiling", ""),
    ("fp32_speedup_ceiling", "most any fp32 backend could gain", "x"),
    ("plan_latency_ms", "one CEM decision", "ms"),
    ("plan_gflop", "one CEM decision, counted", "GFLOP"),
    ("plan_latency_floor_ms", "same at the fp32 ceiling", "ms"),
    ("bf16_frames_per_s", "engine, bf16 autocast", "frames/s"),
    ("bf16_speedup", "bf16 / fp32", "x"),
    ("bf16_max_abs_diff", "bf16 vs fp32, same noise", "max |diff|"),
    ("plan_latency_bf16_ms", "one CEM decision, bf16", "ms"),
    ("joint_frames_per_s", "engine, rollout joint", "frames/s"),
    ("joint_speedup", "joint / autoregressive", "x"),
    ("plan_latency_joint_ms", "one CEM decision, rollout joint", "ms"),
    ("ort_frames_per_s", "engine, denoiser in ONNX Runtime", "frames/s"),
    ("ort_speedup", "ONNX Runtime / torch eager", "x"),
    ("ort_max_abs_diff", "ONNX Runtime vs torch, same noise", "max |diff|"),
)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench",
        help="measure imagination and planning speed on this machine",
        description="Times the cached imagination engine against the plain full-window sampler "
        "(same run, same inputs), counts FLOPs against the machine's matmul ceiling, and times one "
        "CEM decision.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--preset", choices=sorted(BASE_PRESETS), default="tiny", help="random-init architecture"
    )
    source.add_argument("--model", type=Path, help="a world-model folder instead of a preset")
    add_setting_options(parser, BenchSettings, flags=BENCH_FLAGS)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..benchmark import bench_folder, run_benchmark
    from ..world_model.folder import WorldModelFolder

    settings = from_args(BenchSettings, args, [d.name for d in declared_settings(BenchSettings)], BENCH_FLAGS)
    set_torch_threads(args.threads)
    folder = WorldModelFolder.load(args.model) if args.model else bench_folder(args.preset)
    results = run_benchmark(folder, settings)
    results["model"] = str(args.model) if args.model else f"preset:{args.preset}"
    if args.json:
        print(json.dumps(results))
        return 0
    print(
        f"vid2world bench: {results['model']}, {settings.candidates} candidates x {settings.horizon} frames, "
        f"history {settings.history_frames}, {settings.denoise_steps} denoising steps, "
        f"guidance scale {settings.guidance_scale}, {results['torch_threads']} torch threads"
    )
    for key, label, unit in ROWS:
        if key in results:
            print(f"  {label:<36} {results[key]:>12.4g} {unit}")
    return 0
