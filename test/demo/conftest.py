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


@pytest.fixture
def fast_config(tmp_path) -> Path:
    """The shipped config/demo.yaml with the fast planner settings."""
    document = yaml.safe_load(SHIPPED_CONFIG.read_text())
    document["/vid2world_planner"]["ros__parameters"].update(TINY_PLANNER)
    path = tmp_path / "demo_fast.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


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
