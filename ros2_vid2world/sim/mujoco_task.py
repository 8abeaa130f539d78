"""What the simulated tasks (the reacher, pushing) share: control steps made of physics substeps,
rendering from a fixed camera, and exact snapshots of the physics for rollouts and replays."""

from __future__ import annotations

import mujoco
import numpy as np
from dm_control.mujoco import Camera


class MujocoTask:
    """Mix-in for a task with `self._physics` (dm_control Physics), `self._substeps` per control step,
    `self._step`/`self._substep` counters, `self._cameras` and `self.config.image_size`. A task
    implements `substep(action) -> bool` (calling `_count_substep`) and `observe()`, and names its
    camera (`camera`) and the MuJoCo state it snapshots (`state_flags`)."""

    camera: str
    state_flags: int = mujoco.mjtState.mjSTATE_FULLPHYSICS

    def step(self, action: np.ndarray):
        """Apply one command for one control period; the observation after it."""
        self.advance(action)
        return self.observe()

    def advance(self, action: np.ndarray) -> None:
        """`step` without rendering, for rollouts that only need the state (e.g. an oracle planner)."""
        for _ in range(self._substeps):
            self.substep(action)

    def _count_substep(self) -> bool:
        """After a physics step: True when it completed a control step."""
        self._substep += 1
        if self._substep % self._substeps:
            return False
        self._step += 1
        return True

    def render(self, size: int | None = None) -> np.ndarray:
        """uint8 [size, size, 3] RGB from the task's fixed camera (default: the config's image_size)."""
        size = self.config.image_size if size is None else size
        camera = self._cameras.get(size)
        if camera is None:
            camera = self._cameras[size] = Camera(self._physics, size, size, camera_id=self.camera)
        return camera.render().copy()  # a view of the camera's buffer, overwritten by the next render

    @property
    def step_count(self) -> int:
        """Control steps since the last reset."""
        return self._step

    @property
    def time(self) -> float:
        return float(self._physics.data.time)

    def _physics_snapshot(self) -> np.ndarray:
        physics = self._physics
        state = np.empty(mujoco.mj_stateSize(physics.model.ptr, self.state_flags))
        mujoco.mj_getState(physics.model.ptr, physics.data.ptr, state, self.state_flags)
        return state

    def _restore_physics(self, snapshot: np.ndarray, step: int) -> None:
        """Set the physics from a snapshot taken at control step `step` (call `forward` after any
        other state the task restores)."""
        mujoco.mj_setState(self._physics.model.ptr, self._physics.data.ptr, snapshot, self.state_flags)
        self._step = step
        self._substep = step * self._substeps

    def close(self) -> None:
        """Free the rendering contexts (also done at interpreter exit)."""
        self._cameras.clear()
        self._physics.free()
