"""A short CPU training run must give a model whose imagined frames follow the commanded action."""

import torch

from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.diffusion_forcing import diffusion_forcing_loss
from ros2_vid2world.world_model.noise_schedule import make_scheduler
from ros2_vid2world.world_model.presets import base_unet_from_preset
from ros2_vid2world.world_model.sampler import AutoregressiveSampler, SamplerConfig

SIZE, SQUARE = 8, 2
DIRECTIONS = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # (row, column) steps


def moving_squares(count: int, frames: int, generator: torch.Generator):
    """Videos [N, F, 3, SIZE, SIZE] in [-1, 1] of a white square that each action moves by one pixel."""
    choice = torch.randint(0, 4, (count, frames), generator=generator)
    actions = DIRECTIONS[choice]
    start = torch.randint(frames, SIZE - SQUARE - frames + 1, (count, 2), generator=generator)
    offsets = torch.cat([torch.zeros(count, 1, 2), actions[:, :-1].cumsum(1)], dim=1).long()
    corners = start[:, None] + offsets  # [N, F, 2]
    rows, cols = torch.arange(SIZE).view(1, 1, SIZE, 1), torch.arange(SIZE).view(1, 1, 1, SIZE)
    top, left = corners[..., 0, None, None], corners[..., 1, None, None]
    inside = (rows >= top) & (rows < top + SQUARE) & (cols >= left) & (cols < left + SQUARE)
    return (inside.float() * 2 - 1)[:, :, None].expand(-1, -1, 3, -1, -1).contiguous(), actions


def centroid(frames: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] -> [N, 2] brightness-weighted (row, column) centre."""
    weight = (frames.mean(1) + 1).clamp_min(0)
    grid = torch.arange(SIZE, dtype=frames.dtype)
    total = weight.sum((1, 2)) + 1e-6
    return torch.stack([(weight.sum(2) * grid).sum(1) / total, (weight.sum(1) * grid).sum(1) / total], dim=1)


def test_imagined_square_moves_in_the_commanded_direction():
    torch.manual_seed(0)
    model = causalize(base_unet_from_preset("tiny"), action_dim=2, prediction_type="v_prediction")
    scheduler = make_scheduler("v_prediction", rescale_betas_zero_snr=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1.5e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(200):
        videos, actions = moving_squares(48, 2, generator)
        loss = diffusion_forcing_loss(model, scheduler, videos, actions, generator=generator)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    model.eval()
    videos, actions = moving_squares(48, 2, torch.Generator().manual_seed(123))
    config = SamplerConfig(num_inference_steps=10, guidance_scale=2.0)
    sampler = AutoregressiveSampler(model, scheduler, config)
    noise = torch.Generator().manual_seed(0)
    imagined = sampler.rollout(videos[:, :1], actions[:, :0], actions[:, :1], generator=noise)
    shift = centroid(imagined[:, 0]) - centroid(videos[:, 0])
    predicted_direction = (shift @ DIRECTIONS.T).argmax(1)
    commanded_direction = (actions[:, 0] @ DIRECTIONS.T).argmax(1)
    accuracy = (predicted_direction == commanded_direction).float().mean().item()
    print(f"direction accuracy {accuracy:.2f} (chance 0.25), final loss {loss.item():.4f}")
    assert accuracy >= 0.6
    assert (shift * actions[:, 0]).sum(1).mean() > 0.5  # moved along the command by over half a pixel
