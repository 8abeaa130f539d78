import pytest
import torch

from ros2_vid2world.world_model.action_embedding import actions_leading_to_frames
from ros2_vid2world.world_model.frame_cache import FrameCache, broadcast_batch

from .conftest import random_inputs


def test_broadcast_batch_tiles_whole_blocks():
    x = torch.arange(3).view(3, 1)
    assert broadcast_batch(x, 6).flatten().tolist() == [0, 1, 2, 0, 1, 2]
    assert broadcast_batch(x[:1], 4).flatten().tolist() == [0, 0, 0, 0]
    with pytest.raises(ValueError, match="cannot broadcast a cached batch of 3 to a call of batch 4"):
        broadcast_batch(x, 4)


def test_cached_frames_give_what_the_full_clip_gives(tiny_model):
    sample, timesteps, actions = random_inputs(batch=1, frames=6)
    mask = torch.ones(1, 6, dtype=torch.bool)
    with torch.no_grad():
        full = tiny_model(sample, timesteps, actions).sample
        led_to, keep = actions_leading_to_frames(actions, mask)
        cache = FrameCache()
        first = tiny_model.forward_cached(
            sample[:, :3], timesteps[:, :3], led_to[:, :3], keep[:, :3], cache, True
        )
        nxt = tiny_model.forward_cached(
            sample[:, 3:5], timesteps[:, 3:5], led_to[:, 3:5], keep[:, 3:5], cache, True
        )
        last = tiny_model.forward_cached(sample[:, 5:], timesteps[:, 5:], led_to[:, 5:], keep[:, 5:], cache)
    assert cache.frames == 5
    torch.testing.assert_close(torch.cat([first, nxt, last], dim=1), full, atol=1e-4, rtol=1e-4)


def test_shared_history_serves_a_larger_batch_without_changing(tiny_model):
    sample, timesteps, actions = random_inputs(batch=3, frames=4)
    sample[:, :2], timesteps[:, :2], actions[:, :2] = sample[:1, :2], timesteps[:1, :2], actions[:1, :2]
    mask = torch.ones(3, 4, dtype=torch.bool)
    led_to, keep = actions_leading_to_frames(actions, mask)
    with torch.no_grad():
        full = tiny_model(sample, timesteps, actions).sample
        cache = FrameCache()
        tiny_model.forward_cached(
            sample[:1, :2], timesteps[:1, :2], led_to[:1, :2], keep[:1, :2], cache, True
        )
        fork = cache.fork()
        new = tiny_model.forward_cached(
            sample[:, 2:], timesteps[:, 2:], led_to[:, 2:], keep[:, 2:], fork, True
        )
    torch.testing.assert_close(new, full[:, 2:], atol=1e-4, rtol=1e-4)
    assert cache.frames == 2 and fork.frames == 4  # the fork grew, the shared history did not
    assert all(len(segments) == 1 and segments[0][0].shape[0] == 1 for segments in cache.attention.values())
