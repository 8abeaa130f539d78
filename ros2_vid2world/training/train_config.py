"""The settings of one `vid2world train` run, validated on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..choices import PREDICTION_TYPES, WEIGHT_TRANSFERS
from ..settings import check_settings, same_rules_as, setting
from ..world_model.diffusion_forcing import DiffusionForcingConfig
from ..world_model.presets import BASE_PRESETS


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
    # Stage (a) learns video from these datasets (default: `data`), action-free ones included, e.g.
    # other domains' video from `vid2world collect --domain`; stage (b) uses `data` only.
    pretrain_data: tuple[Path, ...] = ()
    preset: str = setting("demo", "Architecture of the stage (a) base.", choices=tuple(sorted(BASE_PRESETS)))
    work_dir: Path | None = None
    pretrain_steps: int = setting(
        2000, "Stage (a) steps: action-free, bidirectional video diffusion (0 with --base or --init).", low=0
    )
    steps: int = setting(
        4000, "Stage (b) steps: the Vid2World transfer (its cosine schedule's length; 0: pre-train only, "
        "writing the base to <work_dir>/base).", low=0,
    )
    stop_at: int = setting(
        0, "Stop stage (b) after this many of its `steps` and write the model (0: run all of them); "
        "a later --resume with a higher stop_at goes on.", low=0,
    )
    clip_frames: int = setting(6, "Frames per training clip (the model's window).", low=2)
    batch_size: int = setting(8, "Clips per step and process.", low=1)
    learning_rate: float = setting(
        2e-4, "Transfer learning rate (AdamW, after warm-up, cosine decay).", above=0.0
    )
    pretrain_learning_rate: float = setting(2e-4, "Stage (a) learning rate.", above=0.0)
    weight_decay: float = setting(0.01, "AdamW weight decay.", low=0.0)
    warmup_steps: int = setting(100, "Linear learning-rate warm-up steps of each stage.", low=0)
    grad_clip: float = setting(1.0, "Gradient norm clip.", above=0.0)
    ema_decay: float = setting(0.999, "Decay of the weights' exponential moving average (what is saved).",
                               low=0.0, below=1.0)
    action_dropout: float = same_rules_as(DiffusionForcingConfig, "action_dropout", 0.2)
    action_lr_scale: float = setting(
        1.0, "Learning rate of the (new, zero-initialised) action embedding relative to the transfer's.",
        above=0.0,
    )
    clean_context_prob: float = same_rules_as(DiffusionForcingConfig, "clean_context_prob", 0.0)
    terminal_prob: float = same_rules_as(DiffusionForcingConfig, "terminal_prob", 0.0)
    context_loss: bool = same_rules_as(DiffusionForcingConfig, "context_loss", False)
    motion_weight: float = same_rules_as(DiffusionForcingConfig, "motion_weight", 0.0)
    turn_oversampling: float = setting(
        0.0, "Draw a clip whose object turns by more than 5, 10, 20 degrees 1 + this, 2, 3 times this as "
        "often again (0: every clip alike). Needs a dataset with object poses (`--object-pose-topic`).",
        low=0.0,
    )
    prediction_type: str = setting(
        "v_prediction", "What the model predicts (v_prediction trains with zero terminal SNR).",
        choices=PREDICTION_TYPES,
    )
    weight_transfer: str = setting(
        "extrapolative", "How temporal convolutions become causal (the paper's choice: extrapolative).",
        choices=WEIGHT_TRANSFERS,
    )
    embedding_scale: bool = setting(
        False, "Also scale every ResBlock's normalised features by the frame embedding (noise level and "
        "action; FiLM, starting at zero), in a model built from the base or added to an --init model "
        "without them: for actions that move small things.",
    )
    checkpoint_every: int = setting(250, "Steps between checkpoints.", low=1)
    log_every: int = setting(10, "Steps between metrics.csv rows.", low=1)
    holdout_episodes: int = setting(2, "Last episodes kept out of training.", low=0)
    seed: int = setting(0, "Seed of initialisation, data order and noise.", low=0)

    def __post_init__(self):
        self.data, self.out = Path(self.data), Path(self.out)
        self.pretrain_data = tuple(Path(p) for p in self.pretrain_data)
        self.base = None if self.base is None else Path(self.base)
        self.init = None if self.init is None else Path(self.init)
        if self.base is not None and self.init is not None:
            raise ValueError("--base and --init exclude each other: an --init world model is already causal.")
        if self.steps == 0 and (self.base is not None or self.init is not None or self.pretrain_steps == 0):
            raise ValueError(
                "--steps 0 pre-trains a base only: it needs --pretrain-steps > 0 and no --base or --init."
            )
        self.work_dir = self.out.parent / f"{self.out.name}.training" if self.work_dir is None else Path(
            self.work_dir
        )
        check_settings(self)

    def diffusion_forcing(self) -> DiffusionForcingConfig:
        """The transfer stage's loss settings."""
        return DiffusionForcingConfig(
            action_dropout=self.action_dropout,
            clean_context_prob=self.clean_context_prob,
            terminal_prob=self.terminal_prob,
            context_loss=self.context_loss,
            motion_weight=self.motion_weight,
        )

    def to_json(self) -> dict:
        def plain(value):
            if isinstance(value, (tuple, list)):
                return [plain(v) for v in value]
            return str(value) if isinstance(value, Path) else value

        return {k: plain(v) for k, v in asdict(self).items()}

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
            elif name == "pretrain_data":
                same = [Path(p).resolve() for p in before] == [Path(p).resolve() for p in value]
            else:
                same = before == value
            if not same:
                mismatches.append(f"{cli_flag(name)} {before} -> {value}")
        return mismatches


# Settings a resumed run may change: its destination, its length and its bookkeeping.
RESUMABLE_CHANGES = ("out", "work_dir", "steps", "stop_at", "checkpoint_every", "log_every")
# `vid2world train` options named otherwise than their TrainConfig field.
TRAIN_FLAGS = {"learning_rate": "lr", "pretrain_learning_rate": "pretrain_lr"}


def cli_flag(name: str) -> str:
    """The `vid2world train` option that sets a TrainConfig field."""
    return "--" + TRAIN_FLAGS.get(name, name).replace("_", "-")
