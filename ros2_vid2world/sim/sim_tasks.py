"""Which simulated task runs, from one set of settings: the reacher (`task` easy or hard) or pushing (push).

sim_node, `vid2world collect` and recipes hold the robot's settings as one set of values (or as a
ReacherConfig, whose `task` says which); this turns them into the task's config and environment.
MuJoCo is imported only by `make_env`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..settings import declared_settings, from_values
from .push_config import PushConfig
from .reacher_config import PUSH_TASK, ReacherConfig

TaskConfig = ReacherConfig | PushConfig


def task_config(values: Mapping[str, Any]) -> TaskConfig:
    """The config of the task `values["task"]` names (default: the reacher's default), from `values`
    keyed by setting name; the other task's settings are ignored. Raises ValueError for bad values."""
    robot = from_values(ReacherConfig, values)  # checks `task` and the settings both tasks have
    return from_values(PushConfig, values) if robot.task == PUSH_TASK else robot


def as_task_config(config: TaskConfig) -> TaskConfig:
    """A ReacherConfig whose task is push (as a recipe writes it) as the PushConfig of its shared
    settings; any other config as it is."""
    if isinstance(config, ReacherConfig) and config.task == PUSH_TASK:
        names = {declared.name for declared in declared_settings(PushConfig)}
        return PushConfig(**{k: v for k, v in dataclasses.asdict(config).items() if k in names})
    return config


def make_env(config: TaskConfig):
    """A ReacherEnv or a PushEnv for `config` (see `as_task_config`)."""
    config = as_task_config(config)
    if isinstance(config, PushConfig):
        from .push_env import PushEnv

        return PushEnv(config)
    from .reacher_env import ReacherEnv

    return ReacherEnv(config)
