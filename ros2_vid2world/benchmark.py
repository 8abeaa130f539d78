"""`vid2world bench`: how fast imagination and planning are here; comparisons measured in one run."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from .decision_benchmark import METHODS, Progress, backend_rows, method_rows
from .planning.backends import make_imagination_engine
from .planning.imagination import ImaginationEngine
from .planning.onnx_engine import OrtImaginationEngine
from .planning.planner_config import PlannerConfig
from .planning.visual_planner import VisualPlanner
from .settings import check_settings, defaults, same_rules_as, setting
from .world_model import causalize
from .world_model.folder import WorldModelFolder
from .world_model.image_conditioning import ImageConditioning
from .world_model.noise_schedule import make_scheduler
from .world_model.presets import PATCH_SIZES, base_unet_from_preset
from .world_model.sampler import AutoregressiveSampler, SamplerConfig

# The decision the benchmark times is the planner node's default one.
PLANNER = defaults(PlannerConfig)


@dataclass(frozen=True)
class BenchSettings:
    """The decision the benchmark times: history frames, candidates, horizon, denoising steps, CEM rounds
    (the planner's settings, with its history, steps and guidance), and how often each timing is repeated.

    Candidates, horizon, iterations, elites and iCEM's floor are smaller than the planner's defaults (64 x 4
    frames x 3 iterations): the run times about ten decisions and at those it took over 15 minutes on
    one core; at these (16 x 3 x 2, half the demo's population) it takes a few.
    """

    history_frames: int = same_rules_as(PlannerConfig, "history_frames", PLANNER["history_frames"])
    horizon: int = same_rules_as(
        PlannerConfig, "horizon", 3, "Imagined frames per candidate."
    )
    candidates: int = same_rules_as(PlannerConfig, "population", 16)
    denoise_steps: int = same_rules_as(PlannerConfig, "denoise_steps", PLANNER["denoise_steps"])
    guidance_scale: float = same_rules_as(PlannerConfig, "guidance_scale", PLANNER["guidance_scale"])
    iterations: int = same_rules_as(PlannerConfig, "iterations", 2)
    elites: int = same_rules_as(PlannerConfig, "elites", 4)
    icem_min_population: int = same_rules_as(PlannerConfig, "icem_min_population", 8)
    # One: at the planner's defaults a timed decision takes seconds and each is run once more to warm up.
    repeats: int = setting(1, "Timed repeats of each measurement; the best is taken.", low=1)

    def __post_init__(self):
        check_settings(self)
        if self.elites > self.candidates:
            raise ValueError(f"`elites` must be <= `candidates`. Got {self.elites} > {self.candidates}.")
        for method in METHODS:  # every method is timed: its rules (icem's population floor) before any
            planner_config(self, method)


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Seconds of the fastest of `repeats` runs after one warm-up (the least disturbed by other load)."""
    fn()
    return fastest(fn, repeats)


def fastest(fn: Callable[[], object], repeats: int) -> float:
    """Seconds of the fastest of `repeats` runs of `fn` (no warm-up)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_peak_gflops(size: int = 2048, repeats: int = 5, dtype: torch.dtype = torch.float32) -> float:
    """The machine's ceiling through torch for `dtype` (fp32; bf16 runs on AMX where present): a large
    square matmul."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    return 2 * size**3 / best_time(lambda: a @ b, repeats) / 1e9


def bench_folder(preset: str, action_dim: int = 2) -> WorldModelFolder:
    """A random-init world model of a preset architecture (v-prediction: its samples stay bounded)."""
    model = causalize(base_unet_from_preset(preset), action_dim=action_dim, prediction_type="v_prediction")
    return WorldModelFolder(
        model.eval(),
        make_scheduler("v_prediction", rescale_betas_zero_snr=True),
        patch_size=PATCH_SIZES[preset],
    )


def run_benchmark(
    folder: WorldModelFolder,
    settings: BenchSettings | None = None,
    progress: Callable[[str], None] | None = None,
    dataset: Path | None = None,
) -> dict:
    """Measure the imagination engine against the full-window sampler, the decision for each search method
    and backend, and the FLOP rate. progress: called with a line per measurement (default: to stderr);
    dataset: calibrates the int8 denoiser on its frames (default: on synthetic clips)."""
    settings = settings or BenchSettings()
    model, scheduler = folder.model, folder.scheduler
    model.requires_grad_(False)  # inference only; FLOP counting trips over parameters that want gradients
    action_dim, channels = model.config.action_dim, model.sample_channels
    height, width = (s // folder.codec.spatial_factor for s in folder.image_size)
    generator = torch.Generator().manual_seed(0)
    history = torch.randn(1, settings.history_frames, channels, height, width, generator=generator)
    history_actions = torch.randn(1, settings.history_frames - 1, action_dim, generator=generator)
    candidates = torch.randn(settings.candidates, settings.horizon, action_dim, generator=generator)
    conditioning = bench_conditioning(folder, generator)
    sampler_config = SamplerConfig(
        num_inference_steps=settings.denoise_steps, guidance_scale=settings.guidance_scale
    )
    naive = AutoregressiveSampler(model, scheduler, sampler_config)
    engine = ImaginationEngine(model, scheduler, sampler_config)

    def run_naive():
        noise = torch.Generator().manual_seed(1)
        return naive.rollout(history, history_actions, candidates, generator=noise, conditioning=conditioning)

    def run_engine():
        noise = torch.Generator().manual_seed(1)
        engine.set_history(history, history_actions, noise, conditioning)
        return engine.imagine(candidates, noise)

    bf16_engine = ImaginationEngine(model, scheduler, sampler_config, autocast_dtype=torch.bfloat16)

    def run_bf16():
        noise = torch.Generator().manual_seed(1)
        bf16_engine.set_history(history, history_actions, noise, conditioning)
        return bf16_engine.imagine(candidates, noise)

    joint_engine = ImaginationEngine(model, scheduler, dataclasses.replace(sampler_config, rollout="joint"))

    def run_joint():
        noise = torch.Generator().manual_seed(1)
        joint_engine.set_history(history, history_actions, noise, conditioning)
        return joint_engine.imagine(candidates, noise)

    try:
        ort_engine = OrtImaginationEngine(model, scheduler, sampler_config, threads=torch.get_num_threads())
    except ValueError as exc:  # a model the exported denoiser cannot run (SVD's): say why, measure the rest
        ort_engine, ort_skipped = None, str(exc)

    def run_ort():
        noise = torch.Generator().manual_seed(1)
        ort_engine.set_history(history, history_actions, noise, conditioning)
        return ort_engine.imagine(candidates, noise)

    # Each measurement below, in order: 11, and 5 more with ONNX Runtime.
    progress = Progress(11 + 5 * (ort_engine is not None), progress)
    frames = settings.candidates * settings.horizon
    progress("timing the full-window sampler")
    naive_s = best_time(run_naive, settings.repeats)
    progress("timing the imagination engine")
    engine_s = best_time(run_engine, settings.repeats)
    progress("timing the imagination engine, bf16")
    bf16_s = best_time(run_bf16, settings.repeats)
    progress("timing the imagination engine, rollout joint")
    joint_s = best_time(run_joint, settings.repeats)
    progress("counting the engine's FLOPs and the matmul ceiling")
    with FlopCounterMode(display=False) as counter:
        run_engine()
    imagine_flops = counter.get_total_flops()
    peak = matmul_peak_gflops()

    def latency_ms(**how) -> float:
        return 1e3 * plan_latency_s(folder, settings, **how)

    progress("timing cem decision")
    plan_ms = latency_ms()
    progress("timing cem decision, bf16")
    plan_bf16_ms = latency_ms(precision="bf16")
    progress("timing cem decision, rollout joint")
    plan_joint_ms = latency_ms(rollout="joint")
    progress("counting the decision's FLOPs")
    plan_gflop = plan_flops(folder, settings) / 1e9
    results = {
        "naive_frames_per_s": frames / naive_s,
        "engine_frames_per_s": frames / engine_s,
        "cache_speedup": naive_s / engine_s,
        "max_abs_diff_vs_naive": float((run_engine() - run_naive()).abs().max()),
        "matmul_peak_gflops": peak,
        "engine_gflops": imagine_flops / engine_s / 1e9,
        "imagine_gflop": imagine_flops / 1e9,
        "plan_latency_ms": plan_ms,
        "plan_gflop": plan_gflop,
        # The same imagination with the model under bf16 autocast (AMX / AVX-512 BF16 where present).
        "bf16_frames_per_s": frames / bf16_s,
        "bf16_speedup": engine_s / bf16_s,
        "bf16_max_abs_diff": float((run_bf16() - run_engine()).abs().max()),
        "plan_latency_bf16_ms": plan_bf16_ms,
        # The horizon denoised in one window (rollout "joint"): other frames by design, so no diff.
        "joint_frames_per_s": frames / joint_s,
        "joint_speedup": engine_s / joint_s,
        "plan_latency_joint_ms": plan_joint_ms,
        "torch_threads": torch.get_num_threads(),
    }
    results["methods"] = method_rows(latency_ms, planner_config(settings), progress, plan_ms)
    if ort_engine is None:
        results["ort_skipped"] = ort_skipped
    else:  # the same imagination (same inputs, same noise) with the denoiser in ONNX Runtime
        progress("timing the imagination engine, ONNX Runtime")
        ort_s = best_time(run_ort, settings.repeats)
        results |= {
            "ort_frames_per_s": frames / ort_s,
            "ort_speedup": engine_s / ort_s,
            "ort_max_abs_diff": float((run_ort() - run_engine()).abs().max()),
            "ort_providers": ort_engine.providers,
        }
    torch_ms = {"fp32": plan_ms, "bf16": plan_bf16_ms}
    results |= backend_rows(
        folder, planner_config(settings), latency_ms, progress, torch_ms, results.get("ort_skipped"), dataset
    )
    results["engine_fraction_of_peak"] = results["engine_gflops"] / results["matmul_peak_gflops"]
    # What fp32 arithmetic allows here: no backend computes faster than the matmul ceiling, so a decision
    # takes at least its FLOPs at that rate, and no fp32 backend (ONNX Runtime included) can beat the
    # engine by more than ceiling / engine rate unless it does less arithmetic.
    results["plan_latency_floor_ms"] = 1e3 * results["plan_gflop"] / results["matmul_peak_gflops"]
    results["fp32_speedup_ceiling"] = 1 / results["engine_fraction_of_peak"]
    return results


def bench_conditioning(folder: WorldModelFolder, generator: torch.Generator) -> ImageConditioning | None:
    """The image conditioning of a random first frame for models that keep Stable Video Diffusion's
    (computed as the planner computes it, once per decision); None for models that learn their own."""
    if folder.conditioner is None:
        return None
    frame = torch.rand(1, 3, *folder.image_size, generator=generator) * 2 - 1
    return folder.conditioner(frame, generator)


def plan_latency_s(folder: WorldModelFolder, settings: BenchSettings, **how) -> float:
    """Wall time of one full decision (set history, imagine every iteration, score, refit); `how`: as
    `decision_planner` takes it (method, backend, precision, rollout, onnx_path)."""
    return best_time(decision_planner(folder, settings, **how).plan, settings.repeats)


def plan_flops(folder: WorldModelFolder, settings: BenchSettings) -> int:
    """FLOPs of one full fp32 CEM decision, counted by torch (matmuls and convolutions)."""
    planner = decision_planner(folder, settings)
    with FlopCounterMode(display=False) as counter:
        planner.plan()
    return counter.get_total_flops()


def planner_config(
    settings: BenchSettings, method: str = "cem", rollout: str = "autoregressive"
) -> PlannerConfig:
    """The planner's settings of the benchmark's decision (the planner's defaults for the rest)."""
    return PlannerConfig(
        population=settings.candidates,
        elites=settings.elites,
        iterations=settings.iterations,
        horizon=settings.horizon,
        denoise_steps=settings.denoise_steps,
        guidance_scale=settings.guidance_scale,
        history_frames=settings.history_frames,
        icem_min_population=settings.icem_min_population,
        rollout=rollout,
        method=method,
    )


def decision_planner(
    folder: WorldModelFolder,
    settings: BenchSettings,
    method: str = "cem",
    backend: str = "torch",
    precision: str = "fp32",
    rollout: str = "autoregressive",
    onnx_path: Path | None = None,
) -> VisualPlanner:
    """A planner at the benchmark's settings with a random goal and a full history of random frames."""
    config = planner_config(settings, method, rollout)
    engine_options = {}
    if backend != "torch":
        engine_options = {"onnx_path": onnx_path, "threads": torch.get_num_threads()}
    engine = make_imagination_engine(
        folder, device=folder.model.device.type, precision=precision, backend=backend, **engine_options
    )
    planner = VisualPlanner(folder, config, low=-1.0, high=1.0, engine=engine)
    rng = np.random.default_rng(0)
    size = (*folder.image_size, 3)
    planner.set_goal(rng.integers(0, 256, size, dtype=np.uint8))
    planner.observe(rng.integers(0, 256, size, dtype=np.uint8))
    for _ in range(settings.history_frames - 1):
        planner.observe(rng.integers(0, 256, size, dtype=np.uint8), np.zeros(folder.model.config.action_dim))
    return planner
