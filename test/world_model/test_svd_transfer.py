"""A transferred Stable Video Diffusion keeps what it knows: on a tiny SVD pipeline written with diffusers'
and transformers' own classes, the causalized model denoises one frame exactly as the base does under
the StableVideoDiffusionPipeline's conditioning and EulerDiscreteScheduler's EDM preconditioning."""

import pytest
import torch

from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.base_pipeline import load_base
from ros2_vid2world.world_model.image_conditioning import ImageConditioner
from ros2_vid2world.world_model.noise_schedule import add_noise, alphas_cumprod_at
from test.svd_pipeline import write_tiny_svd_pipeline

TIME_IDS = (6.0, 127.0, 0.02)


@pytest.fixture(scope="module")
def svd_base(tmp_path_factory):
    return load_base(write_tiny_svd_pipeline(tmp_path_factory.mktemp("svd") / "pipeline"))


def test_one_frame_denoises_as_the_base_does(svd_base):
    """`masked` transfer: a lone frame sees the taps it saw in the base (extrapolative moves the future
    tap onto the present, so there a lone frame differs by design; test_causalization.py)."""
    base = svd_base
    model = causalize(
        base.unet, action_dim=2, weight_transfer="masked", prediction_type="v_prediction",
        conditioning="image", added_time_ids=TIME_IDS,
    ).eval()
    generator = torch.Generator().manual_seed(0)
    frame = torch.rand(1, 3, 32, 32, generator=generator) * 2 - 1
    conditioning = ImageConditioner(base.vae, base.image_encoder, base.image_mean, base.image_std, 0.02)(
        frame, generator
    )
    clean = torch.randn(1, 1, 4, 8, 8, generator=generator)
    noise = torch.randn(1, 1, 4, 8, 8, generator=generator)
    scheduler = type(base.scheduler).from_config(base.scheduler.config)
    scheduler.set_timesteps(8)
    checked = 0
    for index, t in enumerate(scheduler.timesteps):
        sigma = scheduler.sigmas[index]
        noisy = clean + sigma * noise  # EDM space, as the pipeline's latents
        # The base as StableVideoDiffusionPipeline calls it, and the denoised sample as
        # EulerDiscreteScheduler.step computes it (c_skip x + c_out F).
        base_input = torch.cat([scheduler.scale_model_input(noisy, t), conditioning.latent], dim=2)
        with torch.no_grad():
            base_out = base.unet(
                base_input, t, encoder_hidden_states=conditioning.embedding,
                added_time_ids=torch.tensor([TIME_IDS]),
            ).sample
        expected = scheduler.step(base_out, t, noisy).pred_original_sample
        # The world model: variance-preserving input at the per-frame level c_noise, v-prediction.
        level = t.reshape(1, 1).float()
        model_input = add_noise(base.scheduler, clean, noise, level)
        torch.testing.assert_close(model_input, noisy / (sigma**2 + 1) ** 0.5, atol=1e-5, rtol=1e-5)
        with torch.no_grad():
            out = model(
                model_input, level, torch.zeros(1, 1, 2), torch.zeros(1, 1, dtype=torch.bool),
                conditioning=conditioning,
            ).sample
        alpha_bar = alphas_cumprod_at(base.scheduler, level, model_input)
        denoised = alpha_bar.sqrt() * model_input - (1 - alpha_bar).sqrt() * out
        torch.testing.assert_close(denoised, expected, atol=1e-4, rtol=1e-4)
        checked += 1
    assert checked == 8


def test_image_conditioning_is_computed_as_the_svd_pipeline_computes_it(svd_base, tmp_path):
    """The CLIP embedding and the noise-augmented latent of a PIL frame, against
    StableVideoDiffusionPipeline's own `_encode_image` and `preprocess` + noise + `_encode_vae_image`."""
    from diffusers import StableVideoDiffusionPipeline
    from PIL import Image

    pipeline = StableVideoDiffusionPipeline.from_pretrained(write_tiny_svd_pipeline(tmp_path / "pipe"))
    pixels = (torch.rand(32, 32, 3, generator=torch.Generator().manual_seed(3)) * 255).to(torch.uint8)
    image = Image.fromarray(pixels.numpy())
    frame = pixels.permute(2, 0, 1)[None].float() / 127.5 - 1.0  # the world model's camera frame
    base = svd_base
    conditioner = ImageConditioner(base.vae, base.image_encoder, base.image_mean, base.image_std, 0.02)
    with torch.no_grad():
        expected_embedding = pipeline._encode_image(image, "cpu", 1, False)
        processed = pipeline.video_processor.preprocess(image, height=32, width=32)
        noise = torch.randn(processed.shape, generator=torch.Generator().manual_seed(7))
        expected_latent = pipeline._encode_vae_image(processed + 0.02 * noise, "cpu", 1, False)
    got = conditioner(frame, torch.Generator().manual_seed(7))
    torch.testing.assert_close(processed, frame, atol=1e-6, rtol=0)
    torch.testing.assert_close(got.embedding, expected_embedding, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got.latent[:, 0], expected_latent, atol=1e-5, rtol=1e-5)
