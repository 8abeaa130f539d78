"""The `--threads` option the commands that run a model share."""

from __future__ import annotations


def set_torch_threads(threads: int) -> None:
    """Torch's CPU thread count from `--threads` (0 keeps torch's default); ValueError when negative."""
    if threads < 0:
        raise ValueError(f"--threads must be >= 0. Got {threads}.")
    if threads:
        import torch

        torch.set_num_threads(threads)
