"""The settings of `vid2world probe`, declared once (torch-free: the CLI builds its options from them)."""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import check_settings, setting


@dataclass
class ProbeTrainConfig:
    """How a `StateProbe` is trained.

    Each training frame is blurred with a Gaussian of standard deviation drawn from [0, max_blur]
    pixels and gets Gaussian noise of a level drawn from [0, max_noise] (images in [-1, 1]), because
    the planner shows the probe imagined frames, which are softer than camera frames.

    With `imagined_share` > 0 (and a world model), part of every batch is frames the model itself
    imagined from the dataset's recorded frames and actions, 1 to `imagined_horizon` steps ahead,
    labelled with the state recorded at the frame each stands for: the probe then learns to read the
    model's renderings (a small pusher imagined as a soft blob, say) the way the planner will show
    them, not only camera frames. The held-out error is then also measured on imagined frames.
    """

    steps: int = setting(3000, "Optimisation steps.", low=1)
    batch_size: int = setting(128, "Frames per step.", low=1)
    learning_rate: float = setting(2e-3, "Peak learning rate of the one-cycle schedule.", above=0.0)
    max_blur: float = setting(1.5, "Largest blur (std) applied to a training frame.", unit="pixels", low=0.0)
    max_noise: float = setting(0.1, "Largest noise level added to a training frame (images in [-1, 1]).",
                               low=0.0)
    imagined_share: float = setting(
        0.0, "Share of each batch taken from frames the world model imagined (0: camera frames only; "
        "below 1: goal images are camera frames).",
        low=0.0, below=1.0,
    )
    imagined_frames: int = setting(4096, "Imagined training frames generated before training.", low=1)
    imagined_horizon: int = setting(3, "Imagined frames reach this many steps past a recorded frame.",
                                    unit="steps", low=1)
    imagined_denoise_steps: int = setting(1, "Denoising steps per imagined frame (as the planner's).", low=1)
    yaw_pooling: bool = setting(
        False, "Read an object's yaw by attention pooling over the image (translation-equivariant; see "
        "StateProbe) rather than by the dense head. Used when the dataset keeps object poses.",
    )
    input_pooling: int = setting(
        1, "Average each image down by this factor before the probe's convolutions: a probe of the frames "
        "of a model moved to larger images (finer_patches) at the smaller size's cost.", low=1,
    )
    holdout_episodes: int = setting(2, "The dataset's last episodes, kept out to measure the error.", low=1)
    seed: int = setting(0, "Seed of initialisation, data order and augmentation.", low=0)

    def __post_init__(self):
        check_settings(self)
