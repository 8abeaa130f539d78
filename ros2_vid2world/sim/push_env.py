"""The simulated pushing task: a velocity-controlled pusher moves a T-shaped block on a table (MuJoCo).

The scene (sizes, masses, friction, camera) is `push_scene`'s. As for the reacher, an action in
[-1, 1]^2 is a velocity command, here of the pusher along the table's x and y axes, scaled by
`max_pusher_speed` (m/s) and held by MuJoCo velocity servos; the pusher's x and y are its two joints.

An episode starts with the pusher and the block at random poses that do not overlap, and a GOAL: a pose
of the block (and one of the pusher, which the goal image shows too). Goals come from `goal_source`:

- "random": a uniformly random block pose (position and yaw) with a pusher position beside it;
- "exploration": where the data-collection policy (`push_exploration`) takes the block and the pusher
  from the start in `goal_steps` control steps: DINO-WM's PushT protocol (the state 25 steps on along
  a dataset trajectory), with our data policy.

Every block pose drawn keeps the block clear of the walls by more than the pusher's diameter, so the
pusher can get round it and push it from every side: a random goal is reachable, an exploration goal
was reached. A start whose goal it already meets is drawn again, with its goal.

Success: the block's centre within `position_tolerance` (0.02 m) and its yaw within `angle_tolerance`
(20 degrees) of the goal's; where the pusher ends is not judged (see the README for DINO-WM's criterion).
"""

from __future__ import annotations

import os

# Headless rendering; must be chosen before mujoco or dm_control is first imported in the process.
os.environ.setdefault("MUJOCO_GL", "egl")

from dataclasses import dataclass  # noqa: E402

import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from dm_control.mujoco import Camera, Physics  # noqa: E402

from .mujoco_task import MujocoTask  # noqa: E402
from .planar_pose import wrap_angle  # noqa: E402
from .push_config import PushConfig  # noqa: E402
from .push_exploration import PushExplorationPolicy  # noqa: E402
from .push_scene import (  # noqa: E402
    BLOCK_GEOMS,
    CAMERA,
    HALF_WIDTH,
    PHYSICS_STEP,
    PUSHER,
    PUSHER_JOINTS,
    PUSHER_RADIUS,
    WALL_GEOMS,
    scene_xml,
)

__all__ = ["JOINT_NAMES", "PushConfig", "PushEnv", "PushObservation", "PushState"]

JOINT_NAMES = PUSHER_JOINTS
BLOCK_JOINTS = ("block_x", "block_y", "block_yaw")
WALL_CLEARANCE = 2 * PUSHER_RADIUS + 0.01  # m between the block and a wall in every drawn pose
PUSHER_CLEARANCE = 0.01  # m between the pusher and the block in a drawn start or goal
BLOCK_RANGE = HALF_WIDTH - WALL_CLEARANCE  # block centres are drawn within +-this (then checked)
MAX_DRAWS = 1000
STATE = mujoco.mjtState.mjSTATE_INTEGRATION  # physics, controls and solver warm start: exact replays


@dataclass(frozen=True)
class PushObservation:
    """What the robot senses after a step (object_pose is for evaluation; a planner sees the image).

    image: uint8 [H, W, 3] RGB from the fixed top-down camera, or None when not rendered.
    joint_positions: [2] m, the pusher's x, y on the table (origin at its centre, x right, y up in images).
    joint_velocities: [2] m/s.
    object_pose: [3] the block's centre x, y (m) and yaw (rad, in [-pi, pi); 0: the T upright).
    time: simulated seconds since the episode's reset.
    """

    image: np.ndarray | None
    joint_positions: np.ndarray
    joint_velocities: np.ndarray
    object_pose: np.ndarray
    time: float


@dataclass(frozen=True)
class PushState:
    """Everything `set_state` needs to put the simulation back exactly (the goal image excepted)."""

    physics: np.ndarray  # mj_getState(mjSTATE_INTEGRATION)
    goal_object_pose: np.ndarray  # [3]
    goal_joint_positions: np.ndarray  # [2]
    step: int


class PushEnv(MujocoTask):
    """The pushing task with a velocity command interface, goal images and full state save/restore."""

    joint_names = JOINT_NAMES
    camera = CAMERA
    state_flags = STATE

    def __init__(self, config: PushConfig | None = None):
        self.config = config or PushConfig()
        substeps = self.config.control_period / PHYSICS_STEP
        if abs(substeps - round(substeps)) > 1e-6 or round(substeps) < 1:
            raise ValueError(
                f"`control_period` must be a multiple of the physics step {PHYSICS_STEP} s. "
                f"Got {self.config.control_period!r}."
            )
        self._substeps = round(substeps)
        self._physics = Physics.from_xml_string(scene_xml())
        model = self._physics.model
        block = [model.name2id(name, "joint") for name in BLOCK_JOINTS]
        pusher = [model.name2id(name, "joint") for name in JOINT_NAMES]
        self._block_qpos, self._pusher_qpos = model.jnt_qposadr[block], model.jnt_qposadr[pusher]
        self._block_dofs, self._pusher_dofs = model.jnt_dofadr[block], model.jnt_dofadr[pusher]
        self._pusher_range = model.jnt_range[pusher].copy()  # [2, (low, high)]
        self._block_geoms = [model.name2id(name, "geom") for name in BLOCK_GEOMS]
        self._wall_geoms = [model.name2id(name, "geom") for name in WALL_GEOMS]
        self._pusher_geom = model.name2id(PUSHER, "geom")
        self._cameras: dict[int, Camera] = {}
        self._episode_seeds = np.random.default_rng(self.config.seed)
        self._step = self._substep = 0
        self.episode_seed: int | None = None
        self.goal_image: np.ndarray | None = None
        self.goal_object_pose = np.zeros(3)
        self.goal_joint_positions = np.zeros(2)

    # --- episode ------------------------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> PushObservation:
        """New random start and goal (from `seed`, or the next seed of the config's sequence)."""
        if seed is None:
            seed = int(self._episode_seeds.integers(2**31))
        self.episode_seed = seed
        rng = np.random.default_rng(seed)
        self._physics.reset()
        # A goal already met at the start teaches nothing: draw both again (a pusher that cannot reach the
        # block in goal_steps steps leaves every exploration goal there).
        for _ in range(MAX_DRAWS):
            start = self._random_placement(rng)
            goal = self._draw_goal(start, rng)
            if not self._meets(start[0], goal[0]):
                break
        else:
            raise RuntimeError(f"episode seed {seed}: no goal away from the start in {MAX_DRAWS} draws.")
        self._show_goal(*goal)
        self.place(*start)
        self._step = self._substep = 0
        return self.observe()

    def set_goal(self, object_pose: np.ndarray, pusher_position: np.ndarray) -> None:
        """Move the goal to the block at `object_pose` (x, y, yaw) with the pusher at `pusher_position`
        (a new goal image); the scene stays. For tests and evaluations that need a chosen goal."""
        pose = np.asarray(object_pose, dtype=np.float64)
        pusher = np.asarray(pusher_position, dtype=np.float64)
        if pose.shape != (3,) or not np.all(np.isfinite(pose)):
            raise ValueError(f"`object_pose` must be 3 finite values (x, y, yaw). Got {pose.tolist()!r}.")
        if pusher.shape != (2,) or not np.all(np.isfinite(pusher)):
            raise ValueError(f"`pusher_position` must be 2 finite values (x, y). Got {pusher.tolist()!r}.")
        state = self.get_state()
        self._show_goal(pose, pusher)
        self.set_state(PushState(state.physics, self.goal_object_pose, self.goal_joint_positions, state.step))

    def place(self, object_pose: np.ndarray, pusher_position: np.ndarray) -> None:
        """Put the block at `object_pose` (x, y, yaw) and the pusher at `pusher_position`, both at rest,
        with no command in force; the goal stays. For tests and evaluations that need a chosen scene."""
        data = self._physics.data
        data.qpos[self._block_qpos] = object_pose
        data.qpos[self._pusher_qpos] = pusher_position
        data.qvel[:] = 0.0
        data.ctrl[:] = 0.0
        self._physics.forward()

    def substep(self, action: np.ndarray) -> bool:
        """One physics step (`physics_step` seconds) with the velocity command in force; True when it
        completes a control step (sim_node's realtime mode runs the robot this way)."""
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (2,) or not np.all(np.isfinite(action)):
            raise ValueError(f"`action` must be 2 finite values (pusher x, y). Got {action.tolist()!r}.")
        physics = self._physics
        command = np.clip(action, -1.0, 1.0) * self.config.max_pusher_speed
        # Like ros2_control's joint limits: slow down so that the pusher does not step past the table's
        # edge (the servo would press the soft joint limit centimetres deep).
        position, h = physics.data.qpos[self._pusher_qpos], PHYSICS_STEP
        low, high = self._pusher_range[:, 0], self._pusher_range[:, 1]
        physics.data.ctrl[:] = np.clip(command, (low - position) / h, (high - position) / h)
        mujoco.mj_step(physics.model.ptr, physics.data.ptr)
        physics.forward()  # keep positions of geoms current for rendering
        return self._count_substep()

    @property
    def physics_step(self) -> float:
        """Seconds per physics step (a control period is a whole number of them)."""
        return PHYSICS_STEP

    @property
    def velocity_limit(self) -> float:
        """m/s of an action of magnitude 1 along an axis (the command limit)."""
        return self.config.max_pusher_speed

    # --- observations -------------------------------------------------------------------------------

    def observe(self, render: bool = True) -> PushObservation:
        data = self._physics.data
        return PushObservation(
            image=self.render() if render else None,
            joint_positions=data.qpos[self._pusher_qpos].copy(),
            joint_velocities=data.qvel[self._pusher_dofs].copy(),
            object_pose=self.object_pose(),
            time=float(data.time),
        )

    def object_pose(self) -> np.ndarray:
        """[3] the block's centre x, y (m) and yaw (rad, wrapped to [-pi, pi))."""
        pose = self._physics.data.qpos[self._block_qpos].copy()
        pose[2] = wrap_angle(pose[2])
        return pose

    def goal_distance(self) -> float:
        """Metres between the block's centre and the goal's, in the table plane."""
        return float(np.hypot(*(self.object_pose()[:2] - self.goal_object_pose[:2])))

    def goal_angle_error(self) -> float:
        """Radians between the block's yaw and the goal's, in [0, pi]."""
        return float(abs(wrap_angle(self.object_pose()[2] - self.goal_object_pose[2])))

    def success(self) -> bool:
        """The block within `position_tolerance` and `angle_tolerance` of the goal pose."""
        return self._meets(self.object_pose(), self.goal_object_pose)

    # --- state --------------------------------------------------------------------------------------

    def get_state(self) -> PushState:
        snapshot = self._physics_snapshot()
        return PushState(snapshot, self.goal_object_pose.copy(), self.goal_joint_positions.copy(), self._step)

    def set_state(self, state: PushState) -> None:
        self._restore_physics(state.physics, state.step)
        self.goal_object_pose = state.goal_object_pose.copy()
        self.goal_joint_positions = state.goal_joint_positions.copy()
        self._physics.forward()

    # --- internals ----------------------------------------------------------------------------------

    def _meets(self, pose: np.ndarray, goal: np.ndarray) -> bool:
        near = np.hypot(pose[0] - goal[0], pose[1] - goal[1]) <= self.config.position_tolerance
        aligned = abs(wrap_angle(pose[2] - goal[2])) <= np.deg2rad(self.config.angle_tolerance)
        return bool(near and aligned)

    def _random_placement(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(block pose, pusher position): the block clear of the walls, the pusher clear of the block."""
        for _ in range(MAX_DRAWS):
            pose = np.array([*rng.uniform(-BLOCK_RANGE, BLOCK_RANGE, size=2), rng.uniform(-np.pi, np.pi)])
            self.place(pose, self._physics.data.qpos[self._pusher_qpos])
            if self._clearance(self._wall_geoms) >= WALL_CLEARANCE:
                break
        else:
            raise RuntimeError(f"no block pose clear of the walls in {MAX_DRAWS} draws.")
        for _ in range(MAX_DRAWS):
            pusher = rng.uniform(self._pusher_range[:, 0], self._pusher_range[:, 1])
            self.place(pose, pusher)
            if self._clearance([self._pusher_geom]) >= PUSHER_CLEARANCE:
                return pose, pusher
        raise RuntimeError(f"no pusher position clear of the block in {MAX_DRAWS} draws.")

    def _clearance(self, geoms: list[int]) -> float:
        """The smallest distance (m) between the block and any of `geoms` (at most 1 m)."""
        model, data = self._physics.model.ptr, self._physics.data.ptr
        return min(
            mujoco.mj_geomDistance(model, data, block, other, 1.0, None)
            for block in self._block_geoms
            for other in geoms
        )

    def _draw_goal(self, start: tuple, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if self.config.goal_source == "random":
            return self._random_placement(rng)
        # Run the data-collection policy from the start on the real physics, then rewind to t = 0.
        self._physics.reset()
        self.place(*start)
        step_length = self.config.max_pusher_speed * self.config.control_period
        policy = PushExplorationPolicy(rng, step_length)
        for _ in range(self.config.goal_steps):
            observed = self.observe(render=False)
            self.advance(policy(observed.joint_positions, observed.object_pose))
        goal = self.object_pose(), self._physics.data.qpos[self._pusher_qpos].copy()
        self._physics.reset()
        return goal

    def _show_goal(self, object_pose: np.ndarray, pusher_position: np.ndarray) -> None:
        self.place(object_pose, pusher_position)
        self.goal_image = self.render()
        self.goal_object_pose = np.array(object_pose, dtype=np.float64)
        self.goal_object_pose[2] = wrap_angle(self.goal_object_pose[2])
        self.goal_joint_positions = np.array(pusher_position, dtype=np.float64)
