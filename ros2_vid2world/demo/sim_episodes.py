"""Baseline episodes in-process on ReacherEnv or PushEnv: the same start/goal seeds, budget and success
criterion as the episodes the learned planner drives over ROS 2, without the ROS plumbing (which would
only add latency to policies that need none)."""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from .episode_record import EpisodeRecord


class Policy(Protocol):
    name: str

    def start(self, env, seed: int) -> None: ...

    def act(self, env) -> tuple[np.ndarray, np.ndarray | None]:
        """(velocities [2] in the sim's command units, rad/s or the pusher's m/s; the plan's final
        imagined frame or None)."""


def run_sim_episode(env, policy: Policy, index: int, seed: int, max_steps: int) -> EpisodeRecord:
    """Reset `env` to `seed`, then act until the task's criterion holds or `max_steps` steps are done."""
    started = time.perf_counter()
    observation = env.reset(seed)
    record = EpisodeRecord(policy=policy.name, index=index, seed=seed, goal=env.goal_image.copy())
    policy.start(env, seed)
    _measure(env, record)
    record.frames.append(observation.image)
    if env.success():
        record.success_step = 0
    while record.success_step is None and record.steps < max_steps:
        decided = time.perf_counter()
        action, imagined = policy.act(env)
        record.latencies_s.append(time.perf_counter() - decided)
        record.imagined.append(imagined)
        observation = env.step(np.asarray(action, dtype=np.float64) / env.velocity_limit)
        record.steps += 1
        record.actions.append([float(a) for a in action])
        record.frames.append(observation.image)
        _measure(env, record)
        if env.success():
            record.success_step = record.steps
    record.imagined.append(None)  # no decision on the last frame
    record.wall_s = time.perf_counter() - started
    return record


def _measure(env, record: EpisodeRecord) -> None:
    """The goal distance after a step, and the block's angle error on the push task."""
    record.distances.append(env.goal_distance())
    if hasattr(env, "goal_angle_error"):
        record.angle_errors.append(env.goal_angle_error())
