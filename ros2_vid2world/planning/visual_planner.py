"""Camera images in, the action to execute out: the planning library the ROS node calls."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..world_model.folder import WorldModelFolder
from ..world_model.latent_codec import images_to_unit_range, unit_range_to_images
from ..world_model.sampler import SamplerConfig
from .cem import CEMConfig
from .costs import (
    ActionMagnitudeCost,
    ActionSmoothnessCost,
    CompositeCost,
    CostContext,
    GoalLatentCost,
    JointGoalCost,
    StateProbeGoalCost,
)
from .imagination import ImaginationEngine
from .mpc import MPCConfig, MPCPlanner
from .observation_buffer import ObservationBuffer

GOAL_MODES = ("final", "discounted")


@dataclass
class PlannerConfig:
    """Everything a decision depends on besides the model. Validated on construction.

    population, elites, iterations: CEM (anchors.md); horizon: decision steps planned ahead;
    action_repeat: model steps per decision step; denoise_steps, guidance_scale, guidance_rescale,
    history_timestep, rollout: the world model's sampler; history_frames: camera frames kept as context;
    momentum, init_std, min_std: CEM refit (std as a fraction of the half-range of the bounds);
    *_weight: cost terms (goal image in latent space, action magnitude, smoothness, joint goal, and
    probe: the goal image's joints read by the model folder's state probe, see `StateProbeGoalCost`);
    goal_mode: score the final imagined frame or all of them discounted; seed: planning noise.
    """

    population: int = 64
    elites: int = 8
    iterations: int = 3
    horizon: int = 4
    action_repeat: int = 1
    denoise_steps: int = 3
    guidance_scale: float = 2.5
    guidance_rescale: float = 0.0
    history_timestep: int = 20
    history_frames: int = 4
    rollout: str = "autoregressive"
    momentum: float = 0.1
    init_std: float = 1.0
    min_std: float = 0.05
    goal_weight: float = 1.0
    goal_mode: str = "final"
    goal_discount: float = 0.9
    goal_blur: float = 0.0
    action_weight: float = 0.0
    smoothness_weight: float = 0.0
    joint_goal_weight: float = 0.0
    joint_action_kind: str = "delta"
    probe_weight: float = 0.0
    seed: int | None = 0

    def __post_init__(self):
        for name in ("population", "elites", "iterations", "horizon", "action_repeat", "history_frames"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an integer >= 1. Got {value!r}.")
        if self.goal_mode not in GOAL_MODES:
            raise ValueError(f"`goal_mode` must be one of {list(GOAL_MODES)}. Got {self.goal_mode!r}.")
        weights = ("goal_weight", "action_weight", "smoothness_weight", "joint_goal_weight", "probe_weight")
        for name in ("goal_blur", *weights):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0. Got {getattr(self, name)}.")
        # The sampler settings validate themselves.
        self.sampler_config()

    def sampler_config(self) -> SamplerConfig:
        return SamplerConfig(
            num_inference_steps=self.denoise_steps,
            guidance_scale=self.guidance_scale,
            guidance_rescale=self.guidance_rescale,
            history_timestep=self.history_timestep,
            rollout=self.rollout,
        )


@dataclass
class PlanOutput:
    """One decision, in robot units.

    action: [A] to execute now; sequence: [H, A] the plan; cost: its cost; latency_s: wall time of the
    decision; imagined: uint8 [H * r, h, w, 3] the plan's imagined camera frames (when decoded);
    info: diagnostics (per-iteration best and mean cost, per-term costs).
    """

    action: np.ndarray
    sequence: np.ndarray
    cost: float
    latency_s: float
    imagined: np.ndarray | None = None
    info: dict = field(default_factory=dict)


class VisualPlanner:
    """Plans toward a goal image by imagining candidate futures with a world model (MPC over CEM).

    Feed it camera frames with `observe`, give it a goal with `set_goal`, and call `plan` once per
    decision. Actions are in robot units; the model sees them normalised with the folder's
    `action_stats` when it has them.
    """

    def __init__(
        self,
        folder: WorldModelFolder,
        config: PlannerConfig,
        low: float | list[float],
        high: float | list[float],
        engine: ImaginationEngine | None = None,
    ):
        self.folder = folder
        self.action_dim = folder.model.config.action_dim
        self.low = torch.as_tensor(low, dtype=torch.float32).expand(self.action_dim).clone()
        self.high = torch.as_tensor(high, dtype=torch.float32).expand(self.action_dim).clone()
        if not bool((self.low <= self.high).all()):
            raise ValueError(f"`low` must be <= `high` in every dimension. Got low={low} high={high}.")
        stats = folder.action_stats or {}
        self._action_mean = torch.as_tensor(stats.get("mean", [0.0] * self.action_dim), dtype=torch.float32)
        self._action_std = torch.as_tensor(stats.get("std", [1.0] * self.action_dim), dtype=torch.float32)
        self.engine = engine or ImaginationEngine(folder.model, folder.scheduler)
        self._device = next(folder.model.parameters()).device
        self._goal: torch.Tensor | None = None
        self._goal_joints: torch.Tensor | None = None
        self._previous_action: torch.Tensor | None = None
        self.config = config
        self._apply(config, keep_warm_start=False)

    @property
    def image_size(self) -> tuple[int, int]:
        return self.folder.image_size

    def update_config(self, **changes) -> None:
        """Change settings between decisions; the warm start survives when the horizon does."""
        new = dataclasses.replace(self.config, **changes)
        same_horizon = (new.horizon, new.action_repeat) == (self.config.horizon, self.config.action_repeat)
        self._apply(new, keep_warm_start=same_horizon)

    def reset(self) -> None:
        """Forget the warm start and the history (new episode, or inputs went stale)."""
        self._mpc.reset()
        self._buffer.clear()
        self._previous_action = None

    def set_goal(self, image: np.ndarray, goal_joints: np.ndarray | None = None) -> None:
        """image: uint8 [H, W, 3] RGB at `image_size`; goal_joints: [J] for the joint-goal term."""
        self._goal = self._encode(image, "goal image")
        self._goal_joints = None if goal_joints is None else torch.as_tensor(goal_joints, dtype=torch.float32)
        self._mpc.cost = self._costs(self.config)
        self._mpc.reset()

    def observe(self, frame: np.ndarray, executed_action: np.ndarray | None = None) -> None:
        """frame: uint8 [H, W, 3] RGB at `image_size`; executed_action: [A] executed since the previous
        frame, or None when unknown (the history restarts here)."""
        latent = self._encode(frame, "camera frame")
        action = None if executed_action is None else self._normalise(torch.as_tensor(executed_action))
        self._buffer.append(latent, action)
        if executed_action is not None:
            self._previous_action = torch.as_tensor(executed_action, dtype=torch.float32)

    @torch.no_grad()
    def plan(self, joints: np.ndarray | None = None, decode: bool = False) -> PlanOutput:
        """One decision: imagine, score and refit, then return the action to execute now."""
        if self._goal is None:
            raise ValueError("no goal yet: call set_goal() with a goal image before planning.")
        start = time.perf_counter()
        history, history_actions = self._buffer.history()
        self.engine.set_history(history, history_actions, self._generator)
        joints_t = None if joints is None else torch.as_tensor(joints, dtype=torch.float32)
        result = self._mpc.plan(CostContext(joints=joints_t, previous_action=self._previous_action))
        imagined = None
        if decode:
            frames = self.folder.codec.decode(result.imagined[None])[0]
            imagined = unit_range_to_images(frames).cpu().numpy()
        info = {
            "best_costs": list(result.info.best_costs),
            "mean_costs": list(result.info.mean_costs),
            "cost_terms": result.cost_terms,
        }
        return PlanOutput(
            action=result.action.double().cpu().numpy(),
            sequence=result.sequence.double().cpu().numpy(),
            cost=float(result.cost),
            latency_s=time.perf_counter() - start,
            imagined=imagined,
            info=info,
        )

    def _imagine(self, candidates: torch.Tensor) -> torch.Tensor:
        """[N, H * r, A] robot-unit candidates -> [N, H * r, C, h, w] imagined latents."""
        return self.engine.imagine(self._normalise(candidates).to(self._device), self._generator)

    def _normalise(self, actions: torch.Tensor) -> torch.Tensor:
        return (actions.float() - self._action_mean) / self._action_std

    def _encode(self, image: np.ndarray, what: str) -> torch.Tensor:
        expected = (*self.image_size, 3)
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.shape != expected:
            got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise ValueError(f"{what} must be a uint8 array {list(expected)} (RGB). Got {got}.")
        frames = images_to_unit_range(torch.from_numpy(image))[None, None].to(self._device)
        return self.folder.codec.encode(frames)[0, 0]

    def _apply(self, config: PlannerConfig, keep_warm_start: bool) -> None:
        model_steps = config.horizon * config.action_repeat
        window = self.folder.model.config.max_frames
        if config.history_frames + model_steps > window:
            raise ValueError(
                f"history_frames ({config.history_frames}) + horizon x action_repeat ({model_steps}) "
                f"must fit the model's window of {window} frames."
            )
        if config.probe_weight > 0 and self.folder.state_probe is None:
            raise ValueError(
                f"`probe_weight` is {config.probe_weight} but the model folder has no state probe: "
                "train one with `vid2world probe`, or set `probe_weight` to 0."
            )
        if config.rollout not in self.engine.ROLLOUTS:
            raise ValueError(
                f"`rollout` {config.rollout!r} is not available with {type(self.engine).__name__}: "
                f"it runs {list(self.engine.ROLLOUTS)}."
            )
        cem = CEMConfig(
            action_dim=self.action_dim,
            horizon=config.horizon,
            population=config.population,
            elites=config.elites,
            iterations=config.iterations,
            low=self.low.tolist(),
            high=self.high.tolist(),
            momentum=config.momentum,
            init_std=config.init_std,
            min_std=config.min_std,
            seed=config.seed,
        )
        mpc = MPCPlanner(
            self._imagine, self._costs(config), MPCConfig(config.horizon, cem, config.action_repeat)
        )
        if keep_warm_start and hasattr(self, "_mpc"):
            mpc.warm_start = self._mpc.warm_start
        else:
            self._generator = torch.Generator(self._device)
            self._generator.manual_seed(0 if config.seed is None else config.seed)
        self.engine.config = config.sampler_config()
        if hasattr(self, "_buffer"):
            self._buffer.resize(config.history_frames)
        else:
            self._buffer = ObservationBuffer(config.history_frames, self.action_dim)
        self._mpc, self.config = mpc, config

    def _costs(self, config: PlannerConfig) -> CompositeCost:
        terms = []
        if self._goal is not None and config.goal_weight > 0:
            terms.append(
                GoalLatentCost(
                    self._goal,
                    config.goal_mode,
                    config.goal_discount,
                    weight=config.goal_weight,
                    blur=config.goal_blur,
                    patch_size=self.folder.codec.patch_size,
                )
            )
        if self._goal is not None and config.probe_weight > 0:
            probe, decode = self.folder.state_probe.embed, self.folder.codec.decode
            terms.append(StateProbeGoalCost(probe, decode, self._goal, weight=config.probe_weight))
        if config.action_weight > 0:
            terms.append(ActionMagnitudeCost(weight=config.action_weight))
        if config.smoothness_weight > 0:
            terms.append(ActionSmoothnessCost(weight=config.smoothness_weight))
        if self._goal_joints is not None and config.joint_goal_weight > 0:
            terms.append(
                JointGoalCost(self._goal_joints, config.joint_action_kind, weight=config.joint_goal_weight)
            )
        if not terms:
            terms.append(ActionMagnitudeCost(weight=0.0))  # nothing to aim at yet: every plan costs 0
        return CompositeCost(terms)
