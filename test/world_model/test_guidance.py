import torch

from ros2_vid2world.world_model.guidance import guidance_action_mask, guided_prediction


def test_unconditional_half_drops_only_the_most_recent_action():
    mask = torch.tensor([[True, True, True, True], [True, False, True, True]])
    doubled = guidance_action_mask(mask)
    assert torch.equal(doubled[:2], mask)
    expected_uncond = mask.clone()
    expected_uncond[:, 2] = False  # the action that leads to the newest frame (index 3)
    assert torch.equal(doubled[2:], expected_uncond)


def test_frames_generated_together_all_lose_their_leading_action():
    mask = torch.ones(1, 5, dtype=torch.bool)
    uncond = guidance_action_mask(mask, new_frames=2)[1]
    assert uncond.tolist() == [True, True, False, False, True]  # actions 2 and 3 lead to frames 3 and 4


def test_scale_one_is_the_conditional_prediction():
    cond, uncond = torch.randn(3, 1, 3, 4, 4), torch.randn(3, 1, 3, 4, 4)
    torch.testing.assert_close(guided_prediction(cond, uncond, 1.0), cond)
    torch.testing.assert_close(guided_prediction(cond, uncond, 0.0), uncond)


def test_scale_extrapolates_along_the_action_direction():
    cond, uncond = torch.randn(2, 8), torch.randn(2, 8)
    torch.testing.assert_close(guided_prediction(cond, uncond, 2.5), uncond + 2.5 * (cond - uncond))


def test_full_rescale_matches_conditional_spread():
    cond, uncond = torch.randn(2, 1, 3, 4, 4), torch.randn(2, 1, 3, 4, 4)
    out = guided_prediction(cond, uncond, 4.0, rescale=1.0)
    torch.testing.assert_close(out.std(dim=(1, 2, 3, 4)), cond.std(dim=(1, 2, 3, 4)))
