"""The simulated robot: DeepMind Control's two-link reacher (MuJoCo) behind a joint-velocity interface.

Like a ros2_control forward_command_controller on velocity interfaces, an action in [-1, 1]^2 (joints
"shoulder", "wrist") is a velocity command scaled by `max_joint_velocity`. Each control step runs the
physics substeps with an inverse-dynamics velocity servo that turns the command into actuator torques.

An episode has a random start and a GOAL configuration; the target sits at the fingertip of the goal
configuration, so the goal is exactly reachable, and the goal image shows the arm there. Goals come
from one of two protocols (`goal_source`):

- "random": a uniformly random configuration, independent of the start (about half the goals fold
  the elbow the other way from the start, behind a local minimum of an image cost);
- "exploration": where the data-collection policy (`sim.exploration`) takes the arm from the start in
  `goal_steps` control steps. This is DINO-WM's protocol for Reacher, whose goals are the observation
  after 5 x 5 dataset actions from a dataset state: a goal the data's own motions reach in that time.
"""

from __future__ import annotations

import os

# Headless rendering; must be chosen before mujoco or dm_control is first imported in the process.
os.environ.setdefault("MUJOCO_GL", "egl")

from dataclasses import dataclass  # noqa: E402

import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from dm_control import suite  # noqa: E402
from dm_control.mujoco import Camera  # noqa: E402

from .exploration import GOAL_SOURCES, ExplorationPolicy  # noqa: E402
from .mujoco_task import MujocoTask  # noqa: E402
from .reacher_config import MAX_IMAGE_SIZE, REACHER_TASKS, TASKS, ReacherConfig  # noqa: E402

__all__ = ["GOAL_SOURCES", "JOINT_NAMES", "MAX_IMAGE_SIZE", "TASKS", "ReacherConfig", "ReacherEnv"]

JOINT_NAMES = ("shoulder", "wrist")
CAMERA = "fixed"  # the reacher's top-down camera
CAMERA_HEIGHT = 0.62  # m above the table (stock: 0.75); the 45 degree view then spans +-0.26 m
# The stock motors give 0.05 N m, which accelerates the stretched-out arm at ~35 rad/s^2: too weak to
# reach a few rad/s within one 0.1 s control step. A servo arm's drives are far stiffer than that.
MOTOR_TORQUE_LIMIT = 0.5
# Software rendering (Mesa llvmpipe) spends most of a 64 px frame on the default 2048^2 shadow map;
# at 256^2 the image changes by a few pixel values at shadow edges, and a render costs ~3x less.
SHADOW_MAP_SIZE = 256
MAX_GOAL_DRAWS = 100


@dataclass(frozen=True)
class ReacherObservation:
    """What the robot senses after a step.

    image: uint8 [H, W, 3] RGB from the fixed top-down camera, or None when not rendered.
    joint_positions: [2] rad, shoulder wrapped to [-pi, pi), wrist within its +-160 degree limits.
    joint_velocities: [2] rad/s.
    time: simulated seconds since the episode's reset.
    """

    image: np.ndarray | None
    joint_positions: np.ndarray
    joint_velocities: np.ndarray
    time: float


@dataclass(frozen=True)
class ReacherState:
    """Everything `set_state` needs to put the simulation back exactly (the goal image excepted)."""

    physics: np.ndarray  # mj_getState(mjSTATE_FULLPHYSICS): time, qpos, qvel, act, ...
    target_position: np.ndarray  # [2] x, y of the target (a model parameter, not physics state)
    goal_joint_positions: np.ndarray  # [2]
    step: int


class ReacherEnv(MujocoTask):
    """The reacher with a velocity command interface, goal images and full state save/restore."""

    joint_names = JOINT_NAMES
    camera = CAMERA

    def __init__(self, config: ReacherConfig | None = None):
        self.config = config or ReacherConfig()
        if self.config.task not in REACHER_TASKS:
            raise ValueError(
                f"ReacherEnv runs the reacher's tasks {list(REACHER_TASKS)}; task {self.config.task!r} runs "
                "in PushEnv (sim_tasks.make_env picks the environment of a task)."
            )
        env = suite.load("reacher", self.config.task, task_kwargs={"random": self.config.seed})
        env.reset()  # the task sets its own target size
        self._physics = env.physics
        model = self._physics.model
        timestep = float(model.opt.timestep)
        substeps = self.config.control_period / timestep
        if abs(substeps - round(substeps)) > 1e-6 or round(substeps) < 1:
            raise ValueError(
                f"`control_period` must be a multiple of the physics step {timestep} s. "
                f"Got {self.config.control_period!r}."
            )
        self._substeps = round(substeps)
        model.actuator_gear[:, 0] = MOTOR_TORQUE_LIMIT / np.abs(model.actuator_ctrlrange).max(axis=1)
        model.vis.quality.shadowsize = SHADOW_MAP_SIZE
        # The stock camera frames the whole arena; the arm reaches only ~0.22 m from the centre. Lower
        # it so the reachable disk fills the frame: the arm gets ~1.3x more pixels at a small size.
        model.cam_pos[model.name2id(CAMERA, "camera"), 2] = CAMERA_HEIGHT
        self._joint_ids = [model.name2id(name, "joint") for name in JOINT_NAMES]
        self._dofs = model.jnt_dofadr[self._joint_ids]
        self._qpos = model.jnt_qposadr[self._joint_ids]
        self._actuators = [model.name2id(name, "actuator") for name in JOINT_NAMES]
        self._wrist_range = model.jnt_range[self._joint_ids[1]].copy()
        limited = model.jnt_limited[self._joint_ids].astype(bool)
        self._lower = np.where(limited, model.jnt_range[self._joint_ids, 0], -np.inf)
        self._upper = np.where(limited, model.jnt_range[self._joint_ids, 1], np.inf)
        self._mass_matrix = np.zeros((model.nv, model.nv))
        self._cameras: dict[int, Camera] = {}
        self._episode_seeds = np.random.default_rng(self.config.seed)
        self._command = np.zeros(2)
        self._step = self._substep = 0
        self.episode_seed: int | None = None
        self.goal_image: np.ndarray | None = None
        self.goal_joint_positions = np.zeros(2)

    # --- episode ------------------------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> ReacherObservation:
        """New random start and goal (from `seed`, or the next seed of the config's sequence)."""
        if seed is None:
            seed = int(self._episode_seeds.integers(2**31))
        self.episode_seed = seed
        rng = np.random.default_rng(seed)
        physics = self._physics
        physics.reset()
        start = self._random_configuration(rng)
        goal = self._draw_goal(start, rng)
        for _ in range(MAX_GOAL_DRAWS):  # a goal already reached at the start teaches nothing
            self._place_target(goal)
            self._set_joint_positions(start)
            if not self.success():
                break
            goal = self._draw_goal(start, rng)
        self.goal_joint_positions = wrap_angle_shoulder(goal)
        self._set_joint_positions(goal)
        self.goal_image = self.render()
        self._set_joint_positions(start)
        self._command = np.zeros(2)
        self._step = self._substep = 0
        return self.observe()

    def set_goal(self, joint_positions: np.ndarray) -> None:
        """Move the goal to `joint_positions` (target at that fingertip, a new goal image); the arm stays.

        For tests and evaluations that need a goal at a chosen distance from the current state.
        """
        goal = np.asarray(joint_positions, dtype=np.float64)
        if goal.shape != (2,) or not np.all(np.isfinite(goal)):
            raise ValueError(f"`joint_positions` must be 2 finite values (rad). Got {goal.tolist()!r}.")
        state = self.get_state()
        self._place_target(goal)
        self.goal_image = self.render()
        target = self._physics.named.model.geom_pos["target", :2].copy()
        self.set_state(ReacherState(state.physics, target, wrap_angle_shoulder(goal), state.step))

    def substep(self, action: np.ndarray) -> bool:
        """One physics step (`physics_step` seconds) with the velocity command in force; True when it
        completes a control step. A robot in real time (sim_node's realtime mode) is run this way, so a
        command acts exactly as long as it is in force, not for whole control periods."""
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (2,) or not np.all(np.isfinite(action)):
            raise ValueError(f"`action` must be 2 finite values (shoulder, wrist). Got {action.tolist()!r}.")
        self._command = np.clip(action, -1.0, 1.0) * self.config.max_joint_velocity
        model, data = self._physics.model.ptr, self._physics.data.ptr
        mujoco.mj_step1(model, data)  # positions and velocities -> mass matrix and bias forces
        data.ctrl[self._actuators] = self._servo_controls()
        mujoco.mj_step2(model, data)
        self._physics.forward()  # keep positions of geoms current for rendering and success()
        return self._count_substep()

    @property
    def physics_step(self) -> float:
        """Seconds per physics step (a control period is a whole number of them)."""
        return float(self._physics.model.opt.timestep)

    @property
    def velocity_limit(self) -> float:
        """rad/s of an action of magnitude 1 on a joint (the command limit)."""
        return self.config.max_joint_velocity

    def _servo_controls(self) -> np.ndarray:
        """Actuator controls that remove `tracking_gain` of the velocity error in one physics step.

        Inverse dynamics of MuJoCo's Euler step, which treats joint damping D implicitly:
        v' = v + h (M + hD)^-1 (tau - D v - bias), so tau = (M + hD) g (v* - v) / h + D v + bias.
        """
        physics, h = self._physics, float(self._physics.model.opt.timestep)
        mujoco.mj_fullM(physics.model.ptr, physics.data.ptr, self._mass_matrix)
        dofs = self._dofs
        inertia = self._mass_matrix[np.ix_(dofs, dofs)] + h * np.diag(physics.model.dof_damping[dofs])
        velocity = physics.data.qvel[dofs]
        # Like ros2_control's joint limits: slow down so that no joint steps past its position limits.
        positions = physics.data.qpos[self._qpos]
        target = np.clip(self._command, (self._lower - positions) / h, (self._upper - positions) / h)
        torque = (
            inertia @ (self.config.tracking_gain * (target - velocity) / h)
            + physics.model.dof_damping[dofs] * velocity
            + physics.data.qfrc_bias[dofs]
        )
        gear = physics.model.actuator_gear[self._actuators, 0]
        low, high = physics.model.actuator_ctrlrange[self._actuators].T
        return np.clip(torque / gear, low, high)

    # --- observations -------------------------------------------------------------------------------

    def observe(self, render: bool = True) -> ReacherObservation:
        data = self._physics.data
        return ReacherObservation(
            image=self.render() if render else None,
            joint_positions=wrap_angle_shoulder(data.qpos[self._qpos]),
            joint_velocities=data.qvel[self._dofs].copy(),
            time=float(data.time),
        )

    def finger_to_target_distance(self) -> float:
        """Distance in metres between the fingertip's and the target's centres, in the table plane."""
        return float(self._physics.finger_to_target_dist())

    def goal_distance(self) -> float:
        """The task's distance to its goal: `finger_to_target_distance`."""
        return self.finger_to_target_distance()

    @property
    def success_radius(self) -> float:
        """Metres: the target's radius plus the fingertip's, the distance within which `success` holds."""
        return float(self._physics.named.model.geom_size[["target", "finger"], 0].sum())

    def success(self) -> bool:
        """The dm_control reacher criterion: the fingertip touches the target."""
        return bool(self.finger_to_target_distance() <= self.success_radius)

    # --- state --------------------------------------------------------------------------------------

    def get_state(self) -> ReacherState:
        physics = self._physics
        return ReacherState(
            physics=self._physics_snapshot(),
            target_position=physics.named.model.geom_pos["target", :2].copy(),
            goal_joint_positions=self.goal_joint_positions.copy(),
            step=self._step,
        )

    def set_state(self, state: ReacherState) -> None:
        self._restore_physics(state.physics, state.step)
        physics = self._physics
        physics.named.model.geom_pos["target", :2] = state.target_position
        self.goal_joint_positions = state.goal_joint_positions.copy()
        physics.forward()

    # --- internals ----------------------------------------------------------------------------------

    def _random_configuration(self, rng: np.random.Generator) -> np.ndarray:
        return np.array([rng.uniform(-np.pi, np.pi), rng.uniform(*self._wrist_range)])

    def _draw_goal(self, start: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.config.goal_source == "random":
            return self._random_configuration(rng)
        # Run the data-collection policy from the start on the real physics, then rewind to t = 0.
        self._physics.reset()
        self._set_joint_positions(start)
        policy = ExplorationPolicy(rng)
        for _ in range(self.config.goal_steps):
            self.advance(policy())
        goal = self._physics.data.qpos[self._qpos].copy()
        self._physics.reset()
        return goal

    def _set_joint_positions(self, positions: np.ndarray) -> None:
        data = self._physics.data
        data.qpos[self._qpos] = positions
        data.qvel[self._dofs] = 0.0
        self._physics.forward()

    def _place_target(self, goal: np.ndarray) -> None:
        self._set_joint_positions(goal)
        physics = self._physics
        physics.named.model.geom_pos["target", :2] = physics.named.data.geom_xpos["finger", :2]
        physics.forward()  # the target's world position (what is rendered) follows its model position here


def wrap_angle_shoulder(positions: np.ndarray) -> np.ndarray:
    """Joint positions with the continuous shoulder wrapped to [-pi, pi) (a copy)."""
    positions = np.array(positions, dtype=np.float64)
    positions[0] = (positions[0] + np.pi) % (2 * np.pi) - np.pi
    return positions
