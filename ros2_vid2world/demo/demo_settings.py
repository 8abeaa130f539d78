"""What a demo run does: its settings, the two nodes' parameters (config/demo.yaml), the episode seeds.

config/demo.yaml (the reacher) and config/demo_push.yaml (pushing) are ROS 2 parameters files with one
section per node, so `ros2 launch` (through launch/demo.launch.py) and `vid2world demo` start the nodes
with the same settings, and the oracle reads its CEM settings from the planner's section. The sim's
`task` says which robot a file is for.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..ros.node_config import PLANNER_PREFIX, NodeConfig, node_config
from ..settings import from_values
from ..sim.exploration import GOAL_SOURCES
from ..sim.push_config import PushConfig
from ..sim.reacher_config import PUSH_TASK, ReacherConfig
from ..sim.sim_node_config import SimNodeConfig
from ..sim.sim_tasks import TaskConfig, task_config

PACKAGE = "ros2_vid2world"
SIM_NODE = "/reacher_sim"  # sim_node.NODE_NAME (test_demo_settings checks they agree)
PLANNER_NODE = "/vid2world_planner"  # planner_node.NODE_NAME
DEFAULT_EPISODES = 10
# The episode budget of a file that sets no sim max_steps (the shipped files set theirs): a full sweep
# of the shoulder (pi rad at 0.3 rad per 0.1 s step) takes ~11 steps; the arm often needs both joints and
# a detour, so the budget is a bit more than twice that.
DEFAULT_MAX_STEPS = 25
# `vid2world demo --task`: the shipped parameters file and model of each task.
SHIPPED_CONFIGS = {"reacher": "config/demo.yaml", "push": "config/demo_push.yaml"}
SHIPPED_MODELS = {"reacher": "models/reacher", "push": "models/push"}
DEMO_TASKS = tuple(SHIPPED_CONFIGS)
# Mixed into every episode seed, so the demo's start/goal pairs are not the ones `vid2world collect`
# draws from the same --seed for training data.
DEMO_SEED_STREAM = 0x64656D6F


def find_shared(relative: str) -> Path | None:
    """A file or folder the package ships (config/demo.yaml, models/reacher): in the source tree, or
    installed under share/ros2_vid2world (pip: <sys.prefix>/share; colcon: <install prefix>/share)."""
    here = Path(__file__).resolve()
    candidates = [here.parents[2] / relative, Path(sys.prefix) / "share" / PACKAGE / relative]
    if len(here.parents) > 5:  # <prefix>/lib/pythonX.Y/site-packages/ros2_vid2world/demo/this file
        candidates.append(here.parents[5] / "share" / PACKAGE / relative)
    return next((path for path in candidates if path.exists()), None)


def shipped_config(task: str) -> Path:
    """The shipped parameters file of `task` (reacher or push); ValueError for another task."""
    if task not in SHIPPED_CONFIGS:
        raise ValueError(f"--task must be one of {list(DEMO_TASKS)}. Got {task!r}.")
    path = find_shared(SHIPPED_CONFIGS[task])
    if path is None:
        raise ValueError(f"the shipped {SHIPPED_CONFIGS[task]} was not found: pass --config FILE.")
    return path


def demo_task(sim_task: str) -> str:
    """The demo task (reacher or push) of sim_node's `task` (easy, hard or push)."""
    return "push" if sim_task == PUSH_TASK else "reacher"


def config_task(config_path: Path) -> str:
    """The demo task a parameters file is for, from its sim section's `task` (checked later, with the
    rest of the file, by DemoSettings)."""
    sim, _ = node_sections(config_path)
    return demo_task(sim.get("task", ReacherConfig.task))


def episode_seeds(seed: int, count: int) -> list[int]:
    """`count` episode seeds drawn from `seed`; the first k are the same whatever `count` is."""
    rng = np.random.default_rng([DEMO_SEED_STREAM, seed])
    return [int(rng.integers(2**31)) for _ in range(count)]


def node_sections(config_path: Path) -> tuple[dict, dict]:
    """(sim_node parameters, planner_node parameters) from a parameters file with a section per node."""
    try:
        document = yaml.safe_load(Path(config_path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"--config {str(config_path)!r} cannot be read: {exc}") from None
    sections = []
    for node in (SIM_NODE, PLANNER_NODE):
        section = None
        if isinstance(document, dict):
            section = document.get(node, document.get(node.lstrip("/")))
        if not isinstance(section, dict) or not isinstance(section.get("ros__parameters"), dict):
            raise ValueError(
                f"--config {str(config_path)!r} must have a `{node}: ros__parameters:` section."
            )
        sections.append(dict(section["ros__parameters"]))
    return sections[0], sections[1]


@dataclass(frozen=True)
class DemoSettings:
    """One demo run.

    model_path: the world-model folder the planner node loads; config_path: the parameters file;
    out: the report folder; episodes: start/goal pairs; max_steps: control steps per episode;
    seed: the seed the episode seeds are drawn from; run_random, run_oracle: the baselines.
    `from_config` takes max_steps from the file's sim max_steps unless given.
    """

    model_path: Path
    config_path: Path
    out: Path
    episodes: int = DEFAULT_EPISODES
    max_steps: int = DEFAULT_MAX_STEPS
    seed: int = 0
    run_random: bool = True
    run_oracle: bool = True
    realtime: bool = False
    sim_parameters: dict = field(default_factory=dict)
    planner_parameters: dict = field(default_factory=dict)

    def __post_init__(self):
        for name, low in (("episodes", 1), ("max_steps", 1), ("seed", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low:
                raise ValueError(f"--{name.replace('_', '-')} must be an integer >= {low}. Got {value!r}.")
        sim_goal = self.sim_parameters.get("goal_image_topic")
        planner_goal = self.planner_parameters.get("goal_image_topic")
        if not sim_goal or sim_goal != planner_goal:
            raise ValueError(
                f"--config: the sim's and the planner's goal_image_topic must be set and equal. "
                f"Got {sim_goal!r} and {planner_goal!r}."
            )
        goal_source = self.sim_parameters.get("goal_source", ReacherConfig.goal_source)
        if goal_source not in GOAL_SOURCES:
            raise ValueError(f"--goals must be one of {list(GOAL_SOURCES)}. Got {goal_source!r}.")
        goal_steps = self.sim_parameters.get("goal_steps", ReacherConfig.goal_steps)
        if not isinstance(goal_steps, int) or isinstance(goal_steps, bool) or goal_steps < 1:
            raise ValueError(f"--goal-steps must be an integer >= 1. Got {goal_steps!r}.")
        from ..ros.node_config import node_parameters
        from ..sim.sim_node_config import sim_parameters

        # A parameter no node declares would be ignored by the node: a typo would silently keep a default.
        for section, values, declared in (
            ("sim", self.sim_parameters, {name for name, _ in sim_parameters()}),
            ("planner", self.planner_parameters, {name for name, _ in node_parameters()} | {"use_sim_time"}),
        ):
            unknown = sorted(set(values) - declared)
            if unknown:
                raise ValueError(
                    f"--config {str(self.config_path)!r}: the {section} node declares no parameter {unknown}."
                )
        try:  # every value of the file, checked by the nodes' own declarations
            sim_node = self.sim_node
            self.robot, self.planner_node  # noqa: B018 - built to be checked
        except ValueError as exc:
            raise ValueError(f"--config {str(self.config_path)!r}: {exc}") from None
        wanted = "realtime" if self.realtime else "lockstep"
        if sim_node.mode != wanted:
            raise ValueError(f"--config: this demo needs the sim in {wanted} mode. Got {sim_node.mode!r}.")

    @classmethod
    def from_config(
        cls,
        config_path: Path,
        sim_overrides: dict | None = None,
        planner_overrides: dict | None = None,
        **values,
    ) -> DemoSettings:
        """Settings from a parameters file; the overrides replace some of its parameters. With
        `realtime=True` the sim runs in realtime mode and the planner on the wall clock."""
        sim, planner = node_sections(config_path)
        sim.update(sim_overrides or {})
        planner.update(planner_overrides or {})
        if values.get("max_steps") is None:  # the budget the file gives its sim
            values["max_steps"] = sim.get("max_steps") or DEFAULT_MAX_STEPS
        if values.get("realtime"):
            sim["mode"] = "realtime"
            planner["use_sim_time"] = False
        return cls(config_path=Path(config_path), sim_parameters=sim, planner_parameters=planner, **values)

    def planner_overrides(self) -> dict:
        """What the planner process gets on top of the parameters file (--ros-args -p)."""
        keys = ("use_sim_time", "execution", "execute_steps")
        return {key: self.planner_parameters[key] for key in keys if key in self.planner_parameters}

    @property
    def seeds(self) -> list[int]:
        return episode_seeds(self.seed, self.episodes)

    @property
    def robot(self) -> TaskConfig:
        """The simulated task's settings (sim_node's section; defaults for what it leaves out): a
        ReacherConfig, or a PushConfig for `task: push`."""
        return task_config(self.sim_parameters)

    @property
    def task(self) -> str:
        """The demo's task: reacher (sim task easy or hard) or push."""
        return "push" if isinstance(self.robot, PushConfig) else "reacher"

    @property
    def sim_node(self) -> SimNodeConfig:
        return from_values(SimNodeConfig, self.sim_parameters)

    @property
    def planner_node(self) -> NodeConfig:
        """The planner node's settings, its `planner.*` ones in `.planner` (the oracle plans with them)."""
        return node_config(self.planner_parameters)

    @property
    def goal_source(self) -> str:
        return self.robot.goal_source

    @property
    def goal_steps(self) -> int:
        return self.robot.goal_steps

    @property
    def control_period(self) -> float:
        return self.robot.control_period

    @property
    def velocity_limit(self) -> float:
        """The sim's command limit: rad/s (reacher) or m/s (pusher) of an action of magnitude 1."""
        robot = self.robot
        return robot.max_pusher_speed if isinstance(robot, PushConfig) else robot.max_joint_velocity

    @property
    def goal_image_topic(self) -> str:
        return self.sim_parameters["goal_image_topic"]

    @property
    def command_topic(self) -> str:
        return self.planner_node.command_topic

    def planner_values(self) -> dict:
        """The planner.* parameters the file sets, without prefix (for the report)."""
        return {
            name[len(PLANNER_PREFIX) :]: value
            for name, value in self.planner_parameters.items()
            if name.startswith(PLANNER_PREFIX)
        }

    def action_bounds(self, action_dim: int = 2) -> tuple[list[float], list[float]]:
        """(low, high) per joint from the planner's action_low/action_high (one value or one per joint)."""
        try:
            return self.planner_node.bounds(action_dim)
        except ValueError as exc:
            raise ValueError(f"--config: {exc}") from None

    def as_dict(self) -> dict:
        return {
            "task": self.task,
            "model_path": str(self.model_path),
            "config_path": str(self.config_path),
            "episodes": self.episodes,
            "max_steps": self.max_steps,
            "seed": self.seed,
            "episode_seeds": self.seeds,
            "control_period_s": self.control_period,
            "goals": {"source": self.goal_source, "exploration_steps": self.goal_steps},
            "realtime": self.realtime,
            "execution": self.planner_node.execution,
            "execute_steps": self.planner_node.execute_steps,
            "planner": self.planner_values(),
            "action_low": self.action_bounds()[0],
            "action_high": self.action_bounds()[1],
            "sim": {k: v for k, v in self.sim_parameters.items() if k != "goal_image_topic"},
        }
