"""The ceiling: the learned planner's CEM with the simulator itself as the world model.

Same optimiser (`planning.CEM`, same method, population, elites, iterations, horizon, momentum, std and
seed), same warm start (the best sequence and, with icem, the kept elites, shifted by one step), same
image cost (`GoalLatentCost`, with the planner's goal mode and blur, plus its action terms when their
weights are set, and the joint-space and object goal costs read by the model folder's state probe when
`probe_weight`, `object_weight` or `reach_weight` is set), scored in the model's pixel space: camera
images rendered at the sim's size and resized to the model's exactly as the planner node resizes camera
and goal images. Only the imagination differs: each candidate is rolled out in MuJoCo from the current
state (ReacherEnv or PushEnv get_state / set_state), and only the frames the cost reads are rendered
(the last one, for goal mode "final"). So the gap between oracle and learned planner is the world
model's; the gap between oracle and 1.0 is the planner's.
"""

from __future__ import annotations

import numpy as np
import torch

from ..image_messages import resize_rgb
from ..planning.cem import CEM, finite_costs
from ..planning.costs import CompositeCost, CostContext
from ..planning.mpc import shift_sequence
from ..planning.planner_config import PlannerConfig
from ..planning.planner_costs import planner_costs
from ..world_model.latent_codec import images_to_unit_range, unit_range_to_images
from .model_check import probe_weights_set


class OraclePlanner:
    """CEM-MPC over ReacherEnv or PushEnv rollouts; actions in the planner's units (the reacher's rad/s, the
    pusher's m/s) within [low, high]; `velocity_limit` is the env's command limit in the same units
    (env.velocity_limit), so an action over it is the env's [-1, 1] action."""

    name = "oracle"

    def __init__(
        self,
        config: PlannerConfig,
        image_size: tuple[int, int],
        low: list[float],
        high: list[float],
        velocity_limit: float,
        state_probe=None,
    ):
        if config.action_repeat != 1:
            raise ValueError(f"the oracle steps once per decision step: action_repeat must be 1. Got "
                             f"{config.action_repeat}.")
        users = probe_weights_set(config)
        if users and state_probe is None:
            weights = ", ".join(f"`{name}` is {getattr(config, name)}" for name in users)
            raise ValueError(f"{weights}: the oracle needs a state probe.")
        self.config = config
        self.state_probe = state_probe
        self.image_size = tuple(image_size)
        self.low, self.high = list(low), list(high)
        self.velocity_limit = velocity_limit
        self._cem: CEM | None = None
        self._cost: CompositeCost | None = None
        self._warm_start: torch.Tensor | None = None
        self._kept_elites: torch.Tensor | None = None  # icem: [k, H, A], shifted like the warm start
        self._previous_action: torch.Tensor | None = None

    def model_frame(self, image: np.ndarray) -> torch.Tensor:
        """uint8 [H, W, 3] camera image -> float [3, h, w] in [-1, 1] at the model's size."""
        return images_to_unit_range(torch.from_numpy(resize_rgb(image, self.image_size).copy()))

    def start(self, env, seed: int) -> None:
        """A new episode: the goal from env.goal_image, a fresh CEM, no warm start."""
        self._cem = CEM.from_config(self.config.cem_config(len(self.low), self.low, self.high))
        # The rendered frames are already pixels: "decoding" them is the identity.
        self._cost = planner_costs(
            self.config,
            self.model_frame(env.goal_image),
            decode=lambda frames: frames,
            probe=None if self.state_probe is None else self.state_probe.embed,
            state_probe=self.state_probe,
            control_period=env.config.control_period,
        )
        self._warm_start = self._kept_elites = self._previous_action = None

    @torch.no_grad()
    def act(self, env) -> tuple[np.ndarray, np.ndarray]:
        """(velocities [2] to execute now, uint8 [h, w, 3] the best plan's final simulated frame).

        The environment is left in the state it was called in.
        """
        if self._cem is None:
            raise RuntimeError("call start() before act().")
        state = env.get_state()
        winners: list[torch.Tensor] = []  # per CEM iteration, the best candidate's last frame
        joints = torch.as_tensor(env.observe(render=False).joint_positions, dtype=torch.float32)
        context = CostContext(joints=joints, previous_action=self._previous_action)

        def score(candidates: torch.Tensor) -> torch.Tensor:
            frames = torch.stack([self._rollout(env, state, sequence) for sequence in candidates.numpy()])
            env.set_state(state)
            costs, _ = self._cost(frames, candidates, context)
            winners.append(frames[torch.argmin(finite_costs(costs)), -1])
            return costs

        _, info = self._cem.optimize(score, init_mean=self._warm_start, kept_elites=self._kept_elites)
        sequence = info.best_sequence
        self._warm_start = shift_sequence(sequence)
        self._kept_elites = None if info.kept_elites is None else shift_sequence(info.kept_elites)
        self._previous_action = sequence[0].clone()
        return sequence[0].double().numpy(), unit_range_to_images(winners[info.best_iteration]).numpy()

    def _rollout(self, env, state, sequence: np.ndarray) -> torch.Tensor:
        """[H, A] velocities from `state` -> [F, 3, h, w]: the last frame only (goal mode final), else all."""
        env.set_state(state)
        every_frame = self.config.goal_mode != "final"
        frames = []
        for step, action in enumerate(sequence):
            env.advance(np.asarray(action, dtype=np.float64) / self.velocity_limit)
            if every_frame or step == len(sequence) - 1:
                frames.append(self.model_frame(env.render()))
        return torch.stack(frames)
