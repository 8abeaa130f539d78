"""Training a world model from a dataset: pre-train a video diffusion base, then the Vid2World transfer."""

from .train_config import TrainConfig
from .trainer import export_latest, train

__all__ = ["TrainConfig", "export_latest", "train"]
