"""Optimizer state survives a checkpoint, also into the per-group layout of a newer version."""

from __future__ import annotations

import pytest
import torch

from ros2_vid2world.training.checkpoint import load_optimizer, save_checkpoint
from ros2_vid2world.training.trainer import parameter_groups
from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.presets import base_unet_from_preset


def stepped(optimizer, model):
    """One optimizer step on a loss that reaches every parameter, the action embedding included."""
    out = model(torch.randn(1, 2, 3, 16, 16), torch.tensor([[10, 900]]), torch.randn(1, 2, 2)).sample
    loss = out.square().mean() + sum(p.square().sum() for p in model.parameters())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def test_the_action_embedding_gets_its_own_learning_rate():
    model = causalize(base_unet_from_preset("tiny"), action_dim=2)
    rest, action = parameter_groups(model, 1e-4, 10.0)
    assert rest["lr"] == 1e-4 and action["lr"] == 1e-3
    assert {id(p) for p in action["params"]} == {id(p) for p in model.action_embedding.parameters()}
    assert len(rest["params"]) + len(action["params"]) == len(list(model.parameters()))
    (only,) = parameter_groups(base_unet_from_preset("tiny"), 1e-4, 10.0)  # a base: no actions yet
    assert only["lr"] == 1e-4


def test_a_one_group_optimizer_state_resumes_into_per_group_rates(tmp_path):
    model = causalize(base_unet_from_preset("tiny"), action_dim=2)
    old = torch.optim.AdamW(model.parameters(), lr=2e-4)  # how checkpoints were written before
    stepped(old, model)
    old.param_groups[0]["lr"] = 1e-4  # half-way through a schedule that started at 2e-4
    old.param_groups[0]["initial_lr"] = 2e-4
    path = save_checkpoint(tmp_path, model=model, ema_model=model, optimizer=old,
                           state={"stage": "transfer", "step": 1})

    new = torch.optim.AdamW(parameter_groups(model, 2e-4, 10.0))
    for group in new.param_groups:
        group["initial_lr"] = group["lr"]
    load_optimizer(path, new, list(model.parameters()))

    for p in model.parameters():
        for key in ("exp_avg", "exp_avg_sq", "step"):
            torch.testing.assert_close(new.state[p][key], old.state[p][key], rtol=0, atol=0)
    # Each group continues at the same point of the schedule, at its own base rate.
    assert [g["lr"] for g in new.param_groups] == pytest.approx([1e-4, 1e-3])
    assert [g["initial_lr"] for g in new.param_groups] == [2e-4, 2e-3]
