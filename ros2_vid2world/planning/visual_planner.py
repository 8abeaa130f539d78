"""Camera images in, the action to execute out: the planning library the ROS node calls."""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..world_model.folder import WorldModelFolder
from ..world_model.latent_codec import images_to_unit_range, unit_range_to_images
from ..world_model.state_probe import OBJECT_STATES
from .costs import CompositeCost, CostContext
from .imagination import ImaginationEngine
from .mpc import MPCConfig, MPCPlanner
from .observation_buffer import ObservationBuffer
from .planner_config import PlannerConfig
from .planner_costs import planner_costs

__all__ = ["PlanOutput", "PlannerConfig", "VisualPlanner"]

@dataclass
class PlanOutput:
    """One decision, in robot units.

    action: [A] to execute now; sequence: [H, A] the plan; cost: its cost; latency_s: wall time of the
    decision; imagined: uint8 [H * r, h, w, 3] the plan's imagined camera frames (when decoded);
    info: diagnostics (per-iteration best and mean cost, candidates scored, per-term costs).
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
    `action_normalization`.
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
        self.engine = engine or ImaginationEngine(folder.model, folder.scheduler)
        self._conditioner = folder.conditioner  # None unless the model keeps SVD's image conditioning
        self._cancelled = threading.Event()
        self.engine.should_stop = self._cancelled.is_set
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
        pixels = self._pixels(frame, "camera frame")
        latent = self.folder.codec.encode(pixels[None, None])[0, 0]
        action = None if executed_action is None else self._normalise(torch.as_tensor(executed_action))
        # Image-conditioned models read the window's first camera image at each decision.
        self._buffer.append(latent, action, pixels if self._conditioner is not None else None)
        if executed_action is not None:
            self._previous_action = torch.as_tensor(executed_action, dtype=torch.float32)

    def cancel(self) -> None:
        """Abandon the decision running in another thread (it raises PlanCancelled at its next model
        pass); the next `plan` call starts afresh. Safe from any thread."""
        self._cancelled.set()

    @torch.no_grad()
    def plan(
        self,
        joints: np.ndarray | None = None,
        decode: bool = False,
        prefix: np.ndarray | None = None,
        shift: int = 1,
    ) -> PlanOutput:
        """One decision: imagine, score and refit, then return the action to execute now.

        prefix: [k, A] robot-unit actions already committed to run after the newest frame before this
        plan takes effect (a robot that keeps moving while the planner thinks): they are imagined once
        and the plan starts where they leave the robot. shift: decision steps of the previous plan that
        will have run when this one takes effect (the warm start is shifted by that many).
        Raises PlanCancelled when `cancel` was called during the decision.
        """
        if self._goal is None:
            raise ValueError("no goal yet: call set_goal() with a goal image before planning.")
        self._cancelled.clear()
        start = time.perf_counter()
        history, history_actions = self._buffer.history()
        first_pixels = self._buffer.first_pixels()
        if prefix is not None and len(prefix):
            history, history_actions = self._after_prefix(history, history_actions, prefix)
            first_pixels = None  # the window now starts later, maybe at an imagined frame
        self.engine.set_history(
            history, history_actions, self._generator, self._conditioning(history, first_pixels)
        )
        joints_t = None if joints is None else torch.as_tensor(joints, dtype=torch.float32)
        previous = self._previous_action
        if prefix is not None and len(prefix):
            previous = torch.as_tensor(prefix[-1], dtype=torch.float32)
        result = self._mpc.plan(CostContext(joints=joints_t, previous_action=previous), shift=shift)
        imagined = None
        if decode:
            frames = self.folder.codec.decode(result.imagined[None])[0]
            imagined = unit_range_to_images(frames).cpu().numpy()
        info = {
            "best_costs": list(result.info.best_costs),
            "mean_costs": list(result.info.mean_costs),
            "populations": list(result.info.populations),
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

    @torch.no_grad()
    def goal_distance(self) -> float:
        """How far the newest observed frame is from the goal: the state probe's joint distance when the
        folder has a probe, else the image cost (blurred pixel distance). Needs a goal and a frame."""
        if self._goal is None:
            raise ValueError("no goal yet: call set_goal() with a goal image first.")
        frames, _ = self._buffer.history()
        newest = frames[:, -1:]
        probe = self.folder.state_probe
        # Planning for an object's pose, the distance is the object's (m^2, yaw at object_yaw_radius).
        by_object = probe is not None and self.config.object_weight > 0
        config = dataclasses.replace(
            self.config, goal_weight=0.0 if probe is not None else 1.0,
            probe_weight=1.0 if probe and not by_object else 0.0, object_weight=1.0 if by_object else 0.0,
            reach_weight=0.0, action_weight=0.0, smoothness_weight=0.0, joint_goal_weight=0.0,
            goal_mode="final",
        )
        costs = planner_costs(
            config, self._goal, decode=self.folder.codec.decode,
            probe=None if probe is None else probe.embed, patch_size=self.folder.codec.patch_size,
            state_probe=probe,
        )
        total, _ = costs(newest, torch.zeros(1, 1, self.action_dim))
        return float(total[0])

    def _after_prefix(
        self, history: torch.Tensor, actions: torch.Tensor, prefix: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The history extended by the frames the committed `prefix` leads to (imagined with one
        candidate, in chunks that fit the window), cut to leave room for the plan's own frames."""
        window = self.folder.model.config.max_frames
        keep = window - self.config.model_steps
        steps = self._normalise(torch.as_tensor(np.asarray(prefix, dtype=np.float32))).to(self._device)
        while len(steps):
            history = history[:, -(window - 1) :]  # room for at least one imagined frame
            actions = actions[:, max(0, actions.shape[1] - (history.shape[1] - 1)) :]
            chunk = steps[: window - history.shape[1]]
            self.engine.set_history(history, actions, self._generator, self._conditioning(history))
            frames = self.engine.imagine(chunk[None], self._generator)
            history = torch.cat([history, frames.to(history)], dim=1)
            actions = torch.cat([actions, chunk[None].to(actions)], dim=1)
            steps = steps[len(chunk) :]
        history = history[:, -keep:]
        return history, actions[:, actions.shape[1] - (history.shape[1] - 1) :]

    def _imagine(self, candidates: torch.Tensor) -> torch.Tensor:
        """[N, H * r, A] robot-unit candidates -> [N, H * r, C, h, w] imagined latents."""
        return self.engine.imagine(self._normalise(candidates).to(self._device), self._generator)

    def _normalise(self, actions: torch.Tensor) -> torch.Tensor:
        return self.folder.action_normalization.normalize(actions.cpu())

    def _encode(self, image: np.ndarray, what: str) -> torch.Tensor:
        return self.folder.codec.encode(self._pixels(image, what)[None, None])[0, 0]

    def _pixels(self, image: np.ndarray, what: str) -> torch.Tensor:
        """uint8 [H, W, 3] -> [3, H, W] in [-1, 1] on the model's device, after checking it."""
        expected = (*self.image_size, 3)
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.shape != expected:
            got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise ValueError(f"{what} must be a uint8 array {list(expected)} (RGB). Got {got}.")
        # A copy: camera frames may be read-only views of a message's buffer.
        return images_to_unit_range(torch.from_numpy(image.copy())).to(self._device)

    def _conditioning(self, history: torch.Tensor, first_pixels: torch.Tensor | None = None):
        """The image conditioning of the window's first frame (image-conditioned models; else None):
        from its camera image when kept, else from the frame decoded (an imagined one)."""
        if self._conditioner is None:
            return None
        if first_pixels is None:
            first_pixels = self.folder.codec.decode(history[:, :1])[0, 0]
        return self._conditioner(first_pixels[None], self._generator)

    def _apply(self, config: PlannerConfig, keep_warm_start: bool) -> None:
        config.check_window(self.folder.model.config.max_frames)
        if config.probe_weight > 0 and self.folder.state_probe is None:
            raise ValueError(
                f"`probe_weight` is {config.probe_weight} but the model folder has no state probe: "
                "train one with `vid2world probe`, or set `probe_weight` to 0."
            )
        if config.object_weight > 0 or config.reach_weight > 0:
            if self.folder.state_probe is None:
                raise ValueError(
                    f"`object_weight` {config.object_weight} / `reach_weight` {config.reach_weight} need the "
                    "model folder's state probe to read the object's pose: train one with `vid2world probe` "
                    "on a dataset with object poses, or set both to 0."
                )
            self.folder.state_probe.state_index(OBJECT_STATES, "`object_weight` / `reach_weight`")
        if config.rollout not in self.engine.ROLLOUTS:
            raise ValueError(
                f"`rollout` {config.rollout!r} is not available with {type(self.engine).__name__}: "
                f"it runs {list(self.engine.ROLLOUTS)}."
            )
        cem = config.cem_config(self.action_dim, self.low.tolist(), self.high.tolist())
        mpc = MPCPlanner(
            self._imagine, self._costs(config), MPCConfig(config.horizon, cem, config.action_repeat)
        )
        if keep_warm_start and hasattr(self, "_mpc"):
            mpc.warm_start, mpc.kept_elites = self._mpc.warm_start, self._mpc.kept_elites
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
        probe = self.folder.state_probe
        return planner_costs(
            config,
            self._goal,
            decode=self.folder.codec.decode,
            probe=None if probe is None else probe.embed,
            patch_size=self.folder.codec.patch_size,
            goal_joints=self._goal_joints,
            state_probe=probe,
            control_period=self.folder.control_period,
        )
