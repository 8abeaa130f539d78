"""A recipe: every step that makes a model, in one YAML file (`vid2world train --recipe FILE`).

    # recipes/reacher.yaml
    work_dir: runs/reacher          # where each step writes <work_dir>/<step name> (default: <file>.run)
    publish: {step: probe, to: models/reacher}   # the finished model, copied there at the end
    steps:
      - name: bags
        collect: {episodes: 400, steps: 40, size: 64, seed: 1}
      - name: data
        dataset: {bags: ["@bags"], size: 32x32, image_topic: /camera/image_raw, ...}
      - name: base
        pretrain: {data: "@data", preset: patch2_i2v, pretrain_steps: 600, ...}
      ...

Each step has a `name` and exactly one kind (see `recipe_steps.STEP_KINDS`) whose settings are the
options of the command it stands for, validated by the same config dataclasses. "@name" refers to an
earlier step's output; other paths are relative to the directory the command runs in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TOP_LEVEL = ("work_dir", "publish", "steps", "description")


@dataclass
class RecipeStep:
    name: str
    kind: str
    settings: dict = field(default_factory=dict)


@dataclass
class Recipe:
    path: Path
    steps: list[RecipeStep]
    work_dir: Path
    publish: dict | None = None

    def step(self, name: str) -> RecipeStep:
        return next(s for s in self.steps if s.name == name)


def load_recipe(path: str | Path, kinds: tuple[str, ...]) -> Recipe:
    """Parse and check a recipe file; ValueError naming the file, the step and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--recipe {str(path)!r} does not exist.")
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({str(exc).splitlines()[0]}).") from None
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a mapping with `steps`. Got {type(content).__name__}.")
    unknown = sorted(set(content) - set(TOP_LEVEL))
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; a recipe has {list(TOP_LEVEL)}.")
    raw_steps = content.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ValueError(f"{path}: `steps` must be a non-empty list of steps.")
    steps: list[RecipeStep] = []
    for number, raw in enumerate(raw_steps, 1):
        steps.append(_step(path, number, raw, kinds, {s.name for s in steps}))
    publish = content.get("publish")
    if publish is not None:
        if not isinstance(publish, dict) or set(publish) != {"step", "to"}:
            raise ValueError(f"{path}: `publish` must be {{step: NAME, to: FOLDER}}. Got {publish!r}.")
        if publish["step"] not in {s.name for s in steps}:
            raise ValueError(f"{path}: `publish` names step {publish['step']!r}, which the recipe lacks.")
    work_dir = Path(content.get("work_dir") or path.with_suffix(".run").name)
    return Recipe(path, steps, work_dir, publish)


def _step(path: Path, number: int, raw, kinds: tuple[str, ...], earlier: set[str]) -> RecipeStep:
    where = f"{path}: step {number}"
    if not isinstance(raw, dict) or "name" not in raw:
        raise ValueError(f"{where}: a step is a mapping with `name` and one of {list(kinds)}.")
    name = raw["name"]
    where = f"{path}: step {name!r}"
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"{where}: a name is letters, digits, '_', '-' and '.'.")
    if name in earlier:
        raise ValueError(f"{where}: the name is used by an earlier step.")
    present = [key for key in raw if key != "name"]
    if len(present) != 1 or present[0] not in kinds:
        raise ValueError(f"{where}: expected exactly one of {list(kinds)}. Got {present}.")
    kind = present[0]
    settings = raw[kind] or {}
    if not isinstance(settings, dict):
        raise ValueError(f"{where}: `{kind}` must be a mapping of settings. Got {settings!r}.")
    for reference in references(settings):
        if reference not in earlier:
            raise ValueError(f"{where}: '@{reference}' is not an earlier step.")
    return RecipeStep(name, kind, dict(settings))


def references(value) -> list[str]:
    """The steps `value` names: "@step", or "@step/a/file" for a file in that step's folder."""
    if isinstance(value, str) and value.startswith("@"):
        return [value[1:].split("/")[0]]
    if isinstance(value, list):
        return [r for item in value for r in references(item)]
    if isinstance(value, dict):
        return [r for item in value.values() for r in references(item)]
    return []
