"""Training datasets: episodes of camera frames, joint states and actions at a fixed rate, on disk."""

from .store import DATASET_FORMAT, DatasetWriter, EpisodeDataset

__all__ = ["DATASET_FORMAT", "DatasetWriter", "EpisodeDataset"]
