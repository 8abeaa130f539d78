"""The settings of one `vid2world train` run, validated on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..world_model.causal_conv import WEIGHT_TRANSFERS
from ..world_model.diffusion_forcing import DiffusionForcingConfig
from ..world_model.model import PREDICTION_TYPES


@dataclass
class TrainConfig:
    """data: a dataset folder (`vid2world dataset`); out: the world-model folder to write.

    Stage (a), `pretrain_steps` of action-free, bidirectional video diffusion on the dataset's video,
    stands in for an internet-scale pre-trained video model; `base` (a diffusers U-Net folder) skips
    it. Stage (b), `steps` of Diffusion Forcing with actions on the causalized model, is the
    Vid2World transfer. Checkpoints, metrics.csv and the pre-trained base go to `work_dir`
    (default: `<out>.training` beside `out`).

    `init` (a world-model folder) fine-tunes an existing world model instead: stage (a) is skipped,
    stage (b) starts from its weights, and its action normalisation is kept, so what it learned
    about actions still holds on the new data.
    """

    data: Path
    out: Path
    base: Path | None = None
    init: Path | None = None
    preset: str = "demo"
    work_dir: Path | None = None
    pretrain_steps: int = 2000
    steps: int = 4000
    clip_frames: int = 6
    batch_size: int = 8
    learning_rate: float = 2e-4
    pretrain_learning_rate: float = 2e-4
    weight_decay: float = 0.01
    warmup_steps: int = 100
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    action_dropout: float = 0.2
    action_lr_scale: float = 1.0
    clean_context_prob: float = 0.0
    terminal_prob: float = 0.0
    prediction_type: str = "v_prediction"
    weight_transfer: str = "extrapolative"
    checkpoint_every: int = 250
    log_every: int = 10
    holdout_episodes: int = 2
    seed: int = 0

    def __post_init__(self):
        self.data, self.out = Path(self.data), Path(self.out)
        self.base = None if self.base is None else Path(self.base)
        self.init = None if self.init is None else Path(self.init)
        if self.base is not None and self.init is not None:
            raise ValueError("--base and --init exclude each other: an --init world model is already causal.")
        self.work_dir = self.out.parent / f"{self.out.name}.training" if self.work_dir is None else Path(
            self.work_dir
        )
        for name in ("steps", "batch_size", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1. Got {getattr(self, name)}.")
        for name in ("pretrain_steps", "warmup_steps", "holdout_episodes"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0. Got {getattr(self, name)}.")
        if self.clip_frames < 2:
            raise ValueError(f"`clip_frames` must be >= 2. Got {self.clip_frames}.")
        for name in ("learning_rate", "pretrain_learning_rate", "grad_clip", "action_lr_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"`{name}` must be > 0. Got {getattr(self, name)}.")
        self.diffusion_forcing()  # the transfer loss's own config validates its three settings
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"`ema_decay` must be in [0, 1). Got {self.ema_decay}.")
        if self.prediction_type not in PREDICTION_TYPES:
            raise ValueError(
                f"`prediction_type` must be one of {list(PREDICTION_TYPES)}. Got {self.prediction_type!r}."
            )
        if self.weight_transfer not in WEIGHT_TRANSFERS:
            raise ValueError(
                f"`weight_transfer` must be one of {list(WEIGHT_TRANSFERS)}. Got {self.weight_transfer!r}."
            )

    def diffusion_forcing(self) -> DiffusionForcingConfig:
        """The transfer stage's loss settings."""
        return DiffusionForcingConfig(
            action_dropout=self.action_dropout,
            clean_context_prob=self.clean_context_prob,
            terminal_prob=self.terminal_prob,
        )

    def to_json(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}

    def resume_mismatches(self, saved: dict) -> list[str]:
        """The settings of a run being resumed that differ from those it was started with (`saved`, its
        train_config.json), as "--flag started-value -> given-value".

        A resumed run restores the optimizer, the step and the data order, but its loss, learning rate
        and data come from the command line: resumed with other settings, it would silently become a
        different run. Only what cannot change the result may differ: where the model is written, how
        far it goes and how often it checkpoints and logs.
        """
        given = self.to_json()
        mismatches = []
        for name, value in given.items():
            if name in RESUMABLE_CHANGES or name not in saved:
                continue
            before = saved[name]
            if name in ("data", "base", "init") and before is not None and value is not None:
                same = Path(before).resolve() == Path(value).resolve()
            else:
                same = before == value
            if not same:
                mismatches.append(f"{cli_flag(name)} {before} -> {value}")
        return mismatches


# Settings a resumed run may change: its destination, its length and its bookkeeping.
RESUMABLE_CHANGES = ("out", "work_dir", "steps", "checkpoint_every", "log_every")
_FLAGS = {"learning_rate": "lr", "pretrain_learning_rate": "pretrain_lr"}


def cli_flag(name: str) -> str:
    """The `vid2world train` option that sets a TrainConfig field."""
    return "--" + _FLAGS.get(name, name).replace("_", "-")
