"""No import cycle anywhere in the package, and every module imports on its own.

The static check follows every import, those deferred into functions too (a deferred import keeps
torch out of a node's start-up, but two modules that need each other are still one tangled piece);
the dynamic one imports each module first, in a fresh package state, the way
`python -c "import ros2_vid2world.x.y"` would.
"""

import ast
import subprocess
import sys
from pathlib import Path

import ros2_vid2world

PACKAGE_DIR = Path(ros2_vid2world.__file__).parent
PACKAGE = "ros2_vid2world"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The package modules `name` imports anywhere in its text (parents included: importing a.b.c
    runs a/__init__ and a/b/__init__ first)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for child in ast.walk(ast.parse(path.read_text())):
        if isinstance(child, ast.Import):
            targets.update(alias.name for alias in child.names)
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in child.names)
    result = set()
    for target in targets:
        while target:
            # An ancestor package is always initialised before its modules: not an edge of its own.
            if target in known and target != name and not name.startswith(target + "."):
                result.add(target)
            target = target.rpartition(".")[0]
    return result


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle():
    found = modules()
    graph = {name: imported_modules(name, path, set(found)) for name, path in found.items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


SCRIPT = """
import importlib, sys
failures = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "ros2_vid2world" or m.startswith("ros2_vid2world.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failures.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failures))
sys.exit(1 if failures else 0)
"""


def test_every_module_imports_first_in_a_fresh_package():
    # Third-party packages stay loaded between modules (importing torch 150 times would take minutes);
    # the package's own modules are dropped, so each one is the first to be imported.
    names = [name for name in modules() if not name.endswith("__main__")]
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *names], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


def test_the_settings_import_neither_torch_nor_rclpy():
    code = (
        "import sys\n"
        "import ros2_vid2world.ros.node_config, ros2_vid2world.sim.sim_node_config\n"
        "import ros2_vid2world.world_model.action_normalization\n"
        "print(sorted(m for m in ('torch', 'rclpy', 'mujoco') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
