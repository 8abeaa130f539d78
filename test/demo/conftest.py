"""Shared pieces for the demo tests: a tiny model made by `vid2world causalize`, a fast demo config, and
`vid2world demo` as its own process (it starts sim_node and planner_node as its children)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ros2_vid2world.cli import main

from ..conftest import TINY_PLANNER

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = REPO / "config" / "demo.yaml"
SHIPPED_PUSH_CONFIG = REPO / "config" / "demo_push.yaml"
# The push task's state probe reads the pusher's joints, then the block's pose (world_model.state_probe).
PUSH_PROBE_STATES = ["pusher_x", "pusher_y", "object_x", "object_y", "object_yaw"]
PUSH_PROBE_UNITS = ["m", "m", "m", "m", "rad"]
VID2WORLD = Path(sys.executable).parent / "vid2world"
DEMO_TIMEOUT_S = 240.0


@pytest.fixture(scope="session")
def causalized_tiny_model(tmp_path_factory) -> Path:
    """`vid2world causalize --preset tiny --action-dim 2`: a random 16x16 model, as a user would make it,
    with a random state probe, which the shipped config's joint-space goal cost reads."""
    from ros2_vid2world.world_model.folder import save_state_probe
    from ros2_vid2world.world_model.state_probe import StateProbe

    path = tmp_path_factory.mktemp("demo_models") / "tiny"
    assert main(["causalize", "--preset", "tiny", "--action-dim", "2", "--out", str(path)]) == 0
    probe = StateProbe(joint_names=["shoulder", "wrist"], periodic=[True, False], image_size=[16, 16])
    save_state_probe(path, probe)
    return path


@pytest.fixture(scope="session")
def causalized_tiny_push_model(tmp_path_factory) -> Path:
    """A random 16x16 model for the pusher's 2-D velocities at the push sim's 0.2 s steps, with a random
    state probe of the pusher and the block (which the push config's object goal cost reads); the planner
    resizes the 64 px camera."""
    from ros2_vid2world.world_model.folder import save_state_probe
    from ros2_vid2world.world_model.state_probe import StateProbe

    path = tmp_path_factory.mktemp("demo_models") / "tiny_push"
    causalize = ["causalize", "--preset", "tiny", "--action-dim", "2", "--control-period", "0.2"]
    assert main([*causalize, "--out", str(path)]) == 0
    periodic = [False] * 4 + [True]
    probe = StateProbe(PUSH_PROBE_STATES, periodic, units=PUSH_PROBE_UNITS, image_size=[16, 16])
    save_state_probe(path, probe)
    return path


def behind_the_stem(env, goal_ahead: float) -> None:
    """PushEnv: the block upright at the table's centre, the pusher just behind its stem's foot, and the
    goal `goal_ahead` metres further along +y, block and pusher (a straight push through the block's
    centre of mass, which slides it without turning it)."""
    import numpy as np

    from ros2_vid2world.sim.push_scene import PUSHER_RADIUS, STEM, block_shape

    foot = block_shape().stem_centre[1] - STEM[1] / 2
    pusher = np.array([0.0, foot - PUSHER_RADIUS - 0.005])
    env.place(np.zeros(3), pusher)
    env.set_goal(np.array([0.0, goal_ahead, 0.0]), pusher + [0.0, goal_ahead])


def with_fast_planner(config: Path, out: Path) -> Path:
    """`config` with the fast planner settings, written to `out`."""
    document = yaml.safe_load(config.read_text())
    document["/vid2world_planner"]["ros__parameters"].update(TINY_PLANNER)
    out.write_text(yaml.safe_dump(document))
    return out


@pytest.fixture
def fast_config(tmp_path) -> Path:
    """The shipped config/demo.yaml with the fast planner settings."""
    return with_fast_planner(SHIPPED_CONFIG, tmp_path / "demo_fast.yaml")


@pytest.fixture
def fast_push_config(tmp_path) -> Path:
    """The shipped config/demo_push.yaml with the fast planner settings."""
    return with_fast_planner(SHIPPED_PUSH_CONFIG, tmp_path / "demo_push_fast.yaml")


def demo_process(arguments: list[str], cwd: Path) -> subprocess.Popen:
    if not VID2WORLD.exists():
        pytest.skip(f"{VID2WORLD} is missing: pip install --no-deps --no-build-isolation --use-pep517 -e .")
    return subprocess.Popen(
        [str(VID2WORLD), "demo", *arguments],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1"),
    )


def node_pids(stderr: str) -> dict[str, int]:
    """{'planner_node': pid, 'sim_node': pid} from the demo's start-up line."""
    return {name: int(pid) for name, pid in re.findall(r"(planner_node|sim_node) \(pid (\d+)\)", stderr)}


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
