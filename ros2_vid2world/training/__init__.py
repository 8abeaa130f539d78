"""Training a world model from a dataset: pre-train a video diffusion base, then the Vid2World transfer.

Names are imported on first use, so the torch-free settings (`train_config`, `probe_train_config`)
can build a CLI without importing torch.
"""

import importlib

_EXPORTS = {"TrainConfig": ".train_config", "export_latest": ".trainer", "train": ".trainer"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
