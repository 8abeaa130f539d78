"""`vid2world bench --frame-pass`: what one cached frame pass costs, and the CEM decision computed from it.

For models too large to run a decision on this machine (a full-size Stable Video Diffusion U-Net has
1.5 B parameters), the benchmark times the unit a decision repeats instead of the decision: one
cached model pass over one new frame of every candidate (and of its guidance twin) after the
history, in fp32 and under bf16 autocast in the same run. A decision of the planner is

    history pass + image encoders
    + iterations x (horizon x steps x candidates x guidance  +  (horizon - 1) x candidates) frame evaluations

(guidance: 2 with a guidance scale other than 1; the second term re-encodes each finished frame into
the cache at the context noise level), each frame evaluation costed at the measured pass's time and
counted FLOPs per frame. The decision itself is never run here: its figures are computed, and named so.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from .benchmark import fastest, matmul_peak_gflops
from .planning.imagination import ImaginationEngine
from .world_model.folder import WorldModelFolder
from .world_model.sampler_config import SamplerConfig

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}


def counted_then_timed(fn: Callable[[], object], repeats: int) -> tuple[float, int]:
    """(seconds of the fastest of `repeats` runs, FLOPs of one run): the first run, under torch's FLOP
    counter, is also the warm-up."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return fastest(fn, repeats), counter.get_total_flops()


def guidance_factor(settings) -> int:
    """Model evaluations per guided frame: 2 (with and without actions) unless the scale is 1."""
    return 2 if settings.guidance_scale != 1.0 else 1


def decision_frame_evaluations(settings) -> int:
    """Frame evaluations of the new frames in one decision (`BenchSettings`); see the module docstring."""
    per_iteration = (
        settings.horizon * settings.denoise_steps * settings.candidates * guidance_factor(settings)
        + (settings.horizon - 1) * settings.candidates
    )
    return settings.iterations * per_iteration


def frame_pass_benchmark(
    folder: WorldModelFolder, settings, image_size: tuple[int, int] | None = None
) -> dict:
    """Time and count one cached frame pass (and the history and encoders a decision needs once), and
    compute one decision's FLOPs and time from them.

    Args:
        folder: the world model.
        settings: `BenchSettings`: the decision (candidates, horizon, steps, guidance, iterations,
            history) and the timed repeats of each measurement (after one counted warm-up run).
        image_size: (height, width) in pixels to measure at; default the model's own. A multiple of
            the autoencoder's factor.
    """
    model, codec = folder.model.requires_grad_(False), folder.codec
    height, width = image_size or folder.image_size
    factor = codec.spatial_factor
    if height % factor or width % factor or min(height, width) < factor:
        raise ValueError(
            f"the frame size must be a positive multiple of the model's {factor}-pixel latent cell. "
            f"Got {height}x{width}."
        )
    generator = torch.Generator().manual_seed(0)
    latent = (model.sample_channels, height // factor, width // factor)
    history = torch.randn(1, settings.history_frames, *latent, generator=generator)
    action_dim = model.config.action_dim
    history_actions = torch.randn(1, settings.history_frames - 1, action_dim, generator=generator)
    candidates = torch.randn(settings.candidates, 1, action_dim, generator=generator)
    pixels = torch.rand(1, 3, height, width, generator=generator) * 2 - 1
    conditioner, conditioning = folder.conditioner, None

    def encode():  # per decision: the new camera frame, and the window's first frame's conditioning
        nonlocal conditioning
        codec.encode(pixels[:, None])
        if conditioner is not None:
            conditioning = conditioner(pixels, torch.Generator().manual_seed(2))

    with torch.no_grad():
        encoders_s, encoders_flops = counted_then_timed(encode, settings.repeats)
    results = {
        "image_size": [height, width],
        "latent_size": list(latent[1:]),
        "parameters": sum(p.numel() for p in model.parameters()),
        "frame_pass_frames": settings.candidates * guidance_factor(settings),
        "encoders_ms": 1e3 * encoders_s,
        "encoders_gflop": encoders_flops / 1e9,
    }
    for precision, autocast_dtype in PRECISIONS.items():
        def set_history(engine: ImaginationEngine) -> None:
            engine.set_history(history, history_actions, torch.Generator().manual_seed(1), conditioning)

        figures = _cached_passes(folder, settings, autocast_dtype, set_history, candidates)
        suffix = "" if precision == "fp32" else f"_{precision}"
        results |= {f"{key}_ms{suffix}": 1e3 * seconds for key, (seconds, _) in figures.items()}
        results[f"frame_pass_gflops{suffix}"] = figures["frame_pass"][1] / figures["frame_pass"][0] / 1e9
        if precision == "fp32":
            results |= {f"{key}_gflop": flops / 1e9 for key, (_, flops) in figures.items()}
    results |= decision_estimate(results, settings)
    results["matmul_peak_gflops"] = matmul_peak_gflops()
    results["matmul_peak_bf16_gflops"] = matmul_peak_gflops(dtype=torch.bfloat16)
    # No backend computes faster than the matmul ceiling of its precision: the decision's floor here.
    results["decision_floor_s"] = results["decision_gflop"] / results["matmul_peak_gflops"]
    results["decision_floor_bf16_s"] = results["decision_gflop"] / results["matmul_peak_bf16_gflops"]
    results["torch_threads"] = torch.get_num_threads()
    return results


def _cached_passes(folder, settings, autocast_dtype, set_history, candidates) -> dict:
    """{"history", "single_frame", "frame_pass"} -> (seconds, FLOPs) with the model under `autocast_dtype`
    (None: fp32): the history pass, one new frame of one rollout without guidance (the smallest cached
    call), and one step of one new frame of every candidate and its guidance twin (the decision's unit)."""

    def engine(guidance_scale: float) -> ImaginationEngine:
        config = SamplerConfig(num_inference_steps=1, guidance_scale=guidance_scale)
        return ImaginationEngine(folder.model, folder.scheduler, config, autocast_dtype=autocast_dtype)

    def imagine(on: ImaginationEngine, count: int):
        return lambda: on.imagine(candidates[:count], torch.Generator().manual_seed(3))

    single, batch = engine(1.0), engine(settings.guidance_scale)
    figures = {
        "history": counted_then_timed(lambda: set_history(single), settings.repeats),
        "single_frame": counted_then_timed(imagine(single, 1), settings.repeats),
    }
    set_history(batch)
    figures["frame_pass"] = counted_then_timed(imagine(batch, len(candidates)), settings.repeats)
    return figures


def decision_estimate(results: dict, settings) -> dict:
    """One decision's FLOPs and time from the measured pass, history and encoders (see module docstring)."""
    evaluations = decision_frame_evaluations(settings)
    per_frame = results["frame_pass_gflop"] / results["frame_pass_frames"]
    estimate = {
        "decision_frame_evaluations": evaluations,
        "gflop_per_frame_evaluation": per_frame,
        "decision_gflop": results["history_gflop"] + results["encoders_gflop"] + evaluations * per_frame,
    }
    for suffix in ("", "_bf16"):
        per_frame_s = results[f"frame_pass_ms{suffix}"] / 1e3 / results["frame_pass_frames"]
        once = (results[f"history_ms{suffix}"] + results["encoders_ms"]) / 1e3
        estimate[f"decision_s{suffix}"] = once + evaluations * per_frame_s
    return estimate
