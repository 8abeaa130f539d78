"""`vid2world export-onnx`: write a world model's per-step denoiser as ONNX and check it against torch;
with --int8, also an int8 denoiser calibrated on a dataset's frames, checked against the fp32 one."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..planning.calibration_config import CalibrationConfig
from .setting_options import add_setting_options, flag, from_args

TOLERANCE = 1e-3
CALIBRATION = ["clips", "candidates", "history_frames", "horizon", "denoise_steps", "guidance_scale", "seed"]


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "export-onnx",
        help="export the per-step denoiser (with its frame-cache inputs/outputs) to ONNX, optionally int8",
        description="Export a world-model folder's denoiser for one new frame, with the cached past "
        "as inputs and the new frame's cache entries as outputs, for the onnxruntime imagination "
        "backend; then run onnxruntime and torch on the same random inputs and print the largest "
        "difference. With --int8 --data DS, also write an int8 denoiser (static quantization, QDQ, "
        "per-channel int8 weights, uint8 activations) whose ranges are calibrated on what the denoiser "
        "sees while the model imagines from clips of the dataset, and print how close its imagined "
        "frames are to the fp32 file's (PSNR, other clips, same noise).",
    )
    parser.add_argument("--model", type=Path, required=True, help="world-model folder")
    parser.add_argument("--out", type=Path, required=True, help=".onnx file to write (replaced if it exists)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset, 14 to 20 (default 17)")
    int8 = parser.add_argument_group("int8 (backend onnxruntime, precision int8)")
    int8.add_argument("--int8", action="store_true", help="also write an int8 denoiser calibrated on --data")
    int8.add_argument("--data", type=Path, metavar="DS", help="dataset folder of the model's image size")
    int8.add_argument(
        "--int8-out", type=Path, metavar="FILE", help="the int8 file to write (default: OUT as .int8.onnx)"
    )
    add_setting_options(int8, CalibrationConfig, CALIBRATION)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..planning.onnx_denoiser import DenoiserLayout
    from ..planning.onnx_engine import check_session, make_session, max_abs_difference
    from ..planning.onnx_export import DEFAULT_OPSET, check_opset, export_denoiser, write_atomically
    from ..planning.onnx_quantize import int8_path
    from ..world_model.folder import WorldModelFolder

    opset = DEFAULT_OPSET if args.opset is None else args.opset
    check_opset(opset)
    calibration = _check_int8_options(args)
    int8_out = (args.int8_out or int8_path(args.out)) if calibration else None
    for option, path in (("--out", args.out), ("--int8-out", int8_out)):
        if path is not None and not path.parent.is_dir():
            raise ValueError(f"{option} {str(path)!r}: directory {str(path.parent)!r} does not exist.")
    folder = WorldModelFolder.load(args.model)
    model = folder.model
    dataset = _calibration_data(folder, args.data, calibration) if calibration else None
    data = export_denoiser(model, opset)
    if calibration:  # before the fp32 file: a failed quantization writes nothing
        from ..planning.onnx_quantize import save_int8_denoiser

        _, feeds = save_int8_denoiser(folder, dataset, int8_out, calibration, fp32_model=data)
    path = write_atomically(args.out, data)
    layout = DenoiserLayout.of(model)
    session = make_session(path, device="cpu")
    check_session(session, model, layout, f"ONNX file {str(path)!r}")
    difference = max_abs_difference(model, session)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, opset {opset}): {layout.describe()}")
    print(f"onnxruntime vs torch, random inputs: max_abs_diff={difference:.3g}")
    if not difference <= TOLERANCE:
        print(f"error: the difference exceeds {TOLERANCE:g}; do not use this file.")
        return 1
    if calibration:
        agreement = _int8_agreement(folder, dataset, data, int8_out, calibration)
        print(
            f"wrote {int8_out} ({int8_out.stat().st_size / 2**20:.1f} MiB, int8 QDQ): calibrated on {feeds} "
            f"denoiser calls from {calibration.clips} clips of {args.data}"
        )
        print(
            f"int8 vs fp32 onnxruntime, {agreement.frames} frames imagined from {calibration.clips} other "
            f"clips with the same noise: PSNR {agreement.mean_db:.1f} dB (worst frame "
            f"{agreement.min_db:.1f} dB; per step {', '.join(f'{v:.1f}' for v in agreement.per_step_db)})"
        )
    return 0


def _check_int8_options(args: argparse.Namespace) -> CalibrationConfig | None:
    """The calibration settings with --int8 (None without); ValueError for options that need the other."""
    if not args.int8:
        for option, value in (("--data", args.data), ("--int8-out", args.int8_out)):
            if value is not None:
                raise ValueError(f"{option} is used with --int8 only; add --int8 to write an int8 denoiser.")
        return None
    if args.data is None:
        raise ValueError("--int8 needs --data DS: a dataset folder whose frames calibrate the int8 ranges.")
    if args.int8_out is not None and args.int8_out.resolve() == args.out.resolve():
        raise ValueError(f"--int8-out must differ from --out. Got {str(args.out)!r} for both.")
    return from_args(CalibrationConfig, args, CALIBRATION)


def _calibration_data(folder, path: Path, config: CalibrationConfig):
    """The dataset, checked against the model before anything is exported."""
    from ..dataset.store import EpisodeDataset
    from ..planning.onnx_calibration import check_calibration_data

    dataset = EpisodeDataset(path)
    try:
        check_calibration_data(folder, dataset, config)
    except ValueError as exc:  # named as the options that set them
        message = str(exc)
        for name in CALIBRATION:
            message = message.replace(f"`{name}`", flag(name))
        raise ValueError(message) from None
    return dataset


def _int8_agreement(folder, dataset, fp32_model: bytes, int8_file: Path, config: CalibrationConfig):
    """PSNR of the int8 file's imagined frames against the fp32 file's, on clips chosen with another seed."""
    from ..planning.imagination_agreement import imagination_agreement
    from ..planning.onnx_calibration import dataset_clips
    from ..planning.onnx_engine import OrtImaginationEngine

    sampler = config.sampler_config()
    engines = [
        OrtImaginationEngine(folder.model, folder.scheduler, sampler, onnx, device="cpu", precision=precision)
        for onnx, precision in ((fp32_model, "fp32"), (int8_file, "int8"))
    ]
    clips = dataset_clips(folder, dataset, dataclasses.replace(config, seed=config.seed + 1))
    return imagination_agreement(*engines, folder.codec, clips)
