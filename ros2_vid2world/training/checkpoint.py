"""Training checkpoints: every tensor in safetensors, written to a staging folder and renamed into place.

A checkpoint folder `checkpoints/step-NNNNNNN/` holds:
    model/, ema/           save_pretrained folders (config.json + safetensors)
    optimizer.safetensors  the optimizer's tensors, flattened; optimizer.json its other state
    state.json             stage, step, learning-rate scheduler state, config of the run
`checkpoints/latest` names the newest complete one; it is replaced last, so a kill at any moment
leaves the previous checkpoint as `latest`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

KEEP = 2


def save_checkpoint(root: Path, *, model, ema_model, optimizer, state: dict) -> Path:
    """Write one checkpoint under `root` and point `latest` at it; keeps the newest `KEEP`."""
    root.mkdir(parents=True, exist_ok=True)
    name = f"{state['stage']}-step-{state['step']:07d}"
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        model.save_pretrained(staging / "model", safe_serialization=True)
        ema_model.save_pretrained(staging / "ema", safe_serialization=True)
        tensors, rest = _flatten_optimizer(optimizer.state_dict())
        save_file(tensors, staging / "optimizer.safetensors")
        (staging / "optimizer.json").write_text(json.dumps(rest))
        (staging / "state.json").write_text(json.dumps(state, indent=2) + "\n")
        target = root / name
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _write_atomically(root / "latest", name + "\n")
    for old in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))[:-KEEP]:
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return target


def latest_checkpoint(root: Path) -> Path | None:
    pointer = root / "latest"
    if not pointer.is_file():
        return None
    path = root / pointer.read_text().strip()
    return path if (path / "state.json").is_file() else None


def load_state(path: Path) -> dict:
    return json.loads((path / "state.json").read_text())


def load_optimizer(path: Path, optimizer: torch.optim.Optimizer, parameters: list | None = None) -> None:
    """Restore `optimizer` from a checkpoint. `parameters` (the model's, in model order) lets a one-group
    state, written before the action embedding had a group of its own, be split into `optimizer`'s groups."""
    rest = json.loads((path / "optimizer.json").read_text())
    state = _unflatten_optimizer(load_file(path / "optimizer.safetensors"), rest)
    if len(state["param_groups"]) == 1 and len(optimizer.param_groups) > 1 and parameters is not None:
        state = _split_groups(state, optimizer, parameters)
    optimizer.load_state_dict(state)


def _split_groups(state: dict, optimizer: torch.optim.Optimizer, parameters: list) -> dict:
    """A one-group state (indices in model order) re-indexed for `optimizer`'s groups (indices group by
    group); every group keeps its own learning rate, the rest of the settings come from the saved group."""
    (saved,) = state["param_groups"]
    in_model = {id(p): index for index, p in enumerate(parameters)}
    groups, new_state, index = [], {}, 0
    for group in optimizer.param_groups:
        indices = []
        for p in group["params"]:
            if in_model[id(p)] in state["state"]:
                new_state[index] = state["state"][in_model[id(p)]]
            indices.append(index)
            index += 1
        initial = group.get("initial_lr", group["lr"])
        # The saved group's place in the schedule, at this group's own base rate.
        lr = saved["lr"] * initial / saved.get("initial_lr", saved["lr"])
        groups.append({**saved, "lr": lr, "initial_lr": initial, "params": indices})
    return {"state": new_state, "param_groups": groups}


def _flatten_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for index, entries in state_dict["state"].items():
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], rest: dict) -> dict:
    state: dict[int, dict] = {}
    for flat, value in [*tensors.items(), *rest["scalars"].items()]:
        index, key = flat.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": rest["param_groups"]}


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
