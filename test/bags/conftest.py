"""Shared pieces for the bag tests: one torch thread on a shared CPU (tiny models: test/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_torch_thread():
    """Two cores are shared with other work: oversubscribed OpenMP threads crawl."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
