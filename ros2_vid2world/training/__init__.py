"""Training a world model from a dataset: pre-train a video diffusion base, then the Vid2World transfer.

Names are imported on first use, so the torch-free settings (`train_config`, `probe_train_config`)
can build a CLI without importing torch.
"""

from ..lazy_exports import lazy_getattr

_EXPORTS = {"TrainConfig": ".train_config", "export_latest": ".trainer", "train": ".trainer"}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
