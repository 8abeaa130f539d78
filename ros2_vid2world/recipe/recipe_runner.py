"""Run a recipe's steps in order, resumably: a finished step is not run again while its settings (and
those of every step it reads) are unchanged; an interrupted training step resumes from its checkpoint.

`<work_dir>/recipe_state.json` records, per finished step, a digest of its settings and inputs, its
summary and its time. A step whose digest changed runs again, and so does every step after it that
reads it (its digest includes theirs).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from .recipe_file import load_recipe, references
from .recipe_steps import STEP_KINDS

STATE = "recipe_state.json"


def check_recipe(path: str | Path, work_dir: str | Path | None = None) -> int:
    """Check every step's settings as its command would, running nothing; returns the step count.
    Raises ValueError naming the file and step of the first bad setting."""
    recipe = load_recipe(path, tuple(STEP_KINDS))
    root = Path(work_dir) if work_dir is not None else recipe.work_dir
    for step in recipe.steps:
        where = f"{recipe.path}: step {step.name!r} ({step.kind})"
        STEP_KINDS[step.kind](_resolved(step.settings, root), root / step.name, where, check_only=True)
    return len(recipe.steps)


def run_recipe(
    path: str | Path,
    work_dir: str | Path | None = None,
    report: Callable[[str], None] = print,
) -> dict:
    """Run (or finish) the recipe at `path`; returns {step: summary} and the published folder."""
    check_recipe(path, work_dir)  # every step's settings checked before anything runs
    recipe = load_recipe(path, tuple(STEP_KINDS))
    root = Path(work_dir) if work_dir is not None else recipe.work_dir
    root.mkdir(parents=True, exist_ok=True)
    state = _read_state(root)
    digests: dict[str, str] = {}
    results: dict[str, dict] = {}
    started = time.perf_counter()
    for step in recipe.steps:
        where = f"{recipe.path}: step {step.name!r} ({step.kind})"
        settings = _resolved(step.settings, root)
        digest = _digest(step.kind, step.settings, [digests[r] for r in references(step.settings)])
        digests[step.name] = digest
        out = root / step.name
        entry = state.get(step.name)
        if entry and entry["digest"] == digest and entry.get("finished") and out.exists():
            report(f"recipe: {step.name}: done ({entry['seconds']:.0f} s), skipped")
            results[step.name] = entry["summary"]
            continue
        if entry and entry["digest"] != digest:  # other settings: what it left is not this step's
            for leftover in (out, root / f"{step.name}.training"):
                shutil.rmtree(leftover, ignore_errors=True)
        state[step.name] = {"digest": digest, "finished": False}  # an interrupted run resumes
        _write_state(root, state)
        report(f"recipe: {step.name}: {step.kind} ...")
        begun = time.perf_counter()
        summary = STEP_KINDS[step.kind](settings, out, where)
        seconds = time.perf_counter() - begun
        state[step.name] = {
            "digest": digest, "finished": True, "seconds": seconds, "summary": _jsonable(summary)
        }
        _write_state(root, state)
        results[step.name] = state[step.name]["summary"]
        report(f"recipe: {step.name}: done in {seconds:.0f} s")
    published = None
    if recipe.publish is not None:
        published = publish(root / recipe.publish["step"], Path(recipe.publish["to"]))
        report(f"recipe: published {published}")
    return {"steps": results, "published": None if published is None else str(published),
            "work_dir": str(root), "seconds": time.perf_counter() - started}


def publish(source: Path, target: Path) -> Path:
    """Copy the finished model to `target` atomically, keeping the model card (README.md) there."""
    from ..world_model.folder import replace_folder

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.publishing"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    card = target / "README.md"
    if card.is_file():
        shutil.copy2(card, staging / "README.md")
    replace_folder(staging, target)
    return target


def _resolved(value, root: Path):
    """'@name' -> the path of that step's output."""
    if isinstance(value, str) and value.startswith("@"):
        return str(root / value[1:])
    if isinstance(value, list):
        return [_resolved(item, root) for item in value]
    if isinstance(value, dict):
        return {key: _resolved(item, root) for key, item in value.items()}
    return value


def _digest(kind: str, settings: dict, inputs: list[str]) -> str:
    text = json.dumps({"kind": kind, "settings": settings, "inputs": inputs}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(summary) -> dict:
    return json.loads(json.dumps(summary, default=str)) if isinstance(summary, dict) else {}


def _read_state(root: Path) -> dict:
    path = root / STATE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}  # unreadable: every step runs again (their outputs are replaced atomically)


def _write_state(root: Path, state: dict) -> None:
    temporary = root / f".{STATE}.tmp"
    temporary.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(temporary, root / STATE)
