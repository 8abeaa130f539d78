"""`vid2world bench`: imagination and planning speed on this machine."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..benchmark import BenchSettings
from ..settings import declared_settings
from ..world_model.presets import BASE_PRESETS
from .dataset import image_size
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
FRAME_PASS_ROWS = (
    ("parameters", "model parameters", ""),
    ("encoders_ms", "image encoders (once per decision)", "ms"),
    ("encoders_gflop", "image encoders, counted", "GFLOP"),
    ("history_ms", "history pass", "ms"),
    ("history_ms_bf16", "history pass, bf16", "ms"),
    ("history_gflop", "history pass, counted", "GFLOP"),
    ("single_frame_ms", "one new frame, one rollout", "ms"),
    ("single_frame_ms_bf16", "one new frame, one rollout, bf16", "ms"),
    ("single_frame_gflop", "one new frame, one rollout, counted", "GFLOP"),
    ("frame_pass_frames", "frames in the decision's pass", "frames"),
    ("frame_pass_ms", "the decision's pass (one step)", "ms"),
    ("frame_pass_ms_bf16", "the decision's pass, bf16", "ms"),
    ("frame_pass_gflop", "the decision's pass, counted", "GFLOP"),
    ("frame_pass_gflops", "the pass, counted FLOPs / time", "GFLOP/s"),
    ("frame_pass_gflops_bf16", "the pass, bf16", "GFLOP/s"),
    ("matmul_peak_gflops", "fp32 matmul ceiling (torch)", "GFLOP/s"),
    ("matmul_peak_bf16_gflops", "bf16 matmul ceiling (torch)", "GFLOP/s"),
    ("decision_frame_evaluations", "frame evaluations per decision", ""),
    ("decision_gflop", "one CEM decision, computed", "GFLOP"),
    ("decision_s", "one CEM decision, computed", "s"),
    ("decision_s_bf16", "one CEM decision, bf16, computed", "s"),
    ("decision_floor_s", "same at the fp32 ceiling", "s"),
    ("decision_floor_bf16_s", "same at the bf16 ceiling", "s"),
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
    parser.add_argument(
        "--frame-pass",
        action="store_true",
        help="for models too large to run a decision here (full-size Stable Video Diffusion): time one "
        "cached frame pass in fp32 and bf16 and compute the decision from it instead of running it",
    )
    parser.add_argument(
        "--size",
        type=image_size,
        metavar="HxW",
        help="with --frame-pass: the frame size in pixels to measure at (default: the model's)",
    )
    add_setting_options(parser, BenchSettings, flags=BENCH_FLAGS)
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DS",
        help="with --model: calibrate the int8 denoiser on this dataset's frames (default: synthetic clips)",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..benchmark import bench_folder, run_benchmark
    from ..frame_pass_benchmark import frame_pass_benchmark
    from ..world_model.folder import WorldModelFolder

    settings = from_args(BenchSettings, args, [d.name for d in declared_settings(BenchSettings)], BENCH_FLAGS)
    if args.size is not None and not args.frame_pass:
        raise ValueError("--size applies with --frame-pass only (a full run uses the model's frame size).")
    if args.data is not None and (args.model is None or args.frame_pass):
        raise ValueError("--data applies with --model, without --frame-pass (it calibrates the int8 rows).")
    set_torch_threads(args.threads)
    folder = WorldModelFolder.load(args.model) if args.model else bench_folder(args.preset)
    if args.frame_pass:
        results = frame_pass_benchmark(folder, settings, args.size)
    else:
        results = run_benchmark(folder, settings, dataset=args.data)
    results["model"] = str(args.model) if args.model else f"preset:{args.preset}"
    if args.json:
        print(json.dumps(results))
        return 0
    print(
        f"vid2world bench: {results['model']}, {settings.candidates} candidates x {settings.horizon} frames, "
        f"history {settings.history_frames}, {settings.denoise_steps} denoising steps, "
        f"guidance scale {settings.guidance_scale}, {results['torch_threads']} torch threads"
    )
    if args.frame_pass:
        height, width = results["image_size"]
        print(
            f"  frames {height}x{width} (latents {results['latent_size'][0]}x{results['latent_size'][1]}); "
            "the decision is computed from the measured pass, not run"
        )
    for key, label, unit in FRAME_PASS_ROWS if args.frame_pass else ROWS:
        if key in results:
            print(f"  {label:<36} {results[key]:>12.4g} {unit}")
    if "ort_skipped" in results:
        print(f"  ONNX Runtime: skipped: {results['ort_skipped']}")
    if not args.frame_pass:
        print_decision_rows(results, settings)
    return 0


def print_decision_rows(results: dict, settings: BenchSettings) -> None:
    """The same decision for each search method and each backend, measured in this run."""
    print(
        f"  decision by method ({settings.candidates} candidates, {settings.iterations} iterations, "
        f"{settings.elites} elites; torch fp32):"
    )
    for method, row in results["methods"].items():
        evaluations = row["frame_evaluations"]
        print(f"    {method:<18} {row['decision_ms']:>12.4g} ms   {evaluations:>6} frame evaluations")
    print("  cem decision by backend:")
    fp32_ms = results["backends"]["torch fp32"]["decision_ms"]
    for backend, row in results["backends"].items():
        speedup = fp32_ms / row["decision_ms"]
        print(f"    {backend:<18} {row['decision_ms']:>12.4g} ms   {speedup:>6.2f} x torch fp32")
    if "backends_skipped" in results:
        print(f"    skipped: {results['backends_skipped']}")
    if "int8_psnr_db" in results:
        print(
            f"    int8 vs fp32 imagined frames: PSNR {results['int8_psnr_db']:.1f} dB (worst frame "
            f"{results['int8_psnr_min_db']:.1f} dB, {results['int8_psnr_frames']} frames); calibrated on "
            f"{results['int8_calibration']}"
        )
