"""`vid2world export-onnx`: write a world model's per-step denoiser as ONNX and check it against torch."""

from __future__ import annotations

import argparse
from pathlib import Path

TOLERANCE = 1e-3


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "export-onnx",
        help="export the per-step denoiser (with its frame-cache inputs/outputs) to ONNX",
        description="Export a world-model folder's denoiser for one new frame, with the cached past "
        "as inputs and the new frame's cache entries as outputs, for the onnxruntime imagination "
        "backend; then run onnxruntime and torch on the same random inputs and print the largest "
        "difference.",
    )
    parser.add_argument("--model", type=Path, required=True, help="world-model folder")
    parser.add_argument("--out", type=Path, required=True, help=".onnx file to write (replaced if it exists)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset, 14 to 20 (default 17)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..planning.onnx_denoiser import DenoiserLayout
    from ..planning.onnx_engine import check_session, make_session, max_abs_difference
    from ..planning.onnx_export import DEFAULT_OPSET, check_opset, save_denoiser_onnx
    from ..world_model.folder import WorldModelFolder

    opset = DEFAULT_OPSET if args.opset is None else args.opset
    check_opset(opset)
    if not args.out.parent.is_dir():
        raise ValueError(f"--out {str(args.out)!r}: directory {str(args.out.parent)!r} does not exist.")
    model = WorldModelFolder.load(args.model).model
    path = save_denoiser_onnx(model, args.out, opset)
    layout = DenoiserLayout.of(model)
    session = make_session(path, device="cpu")
    check_session(session, model, layout, f"ONNX file {str(path)!r}")
    difference = max_abs_difference(model, session)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, opset {opset}): {layout.describe()}")
    print(f"onnxruntime vs torch, random inputs: max_abs_diff={difference:.3g}")
    if not difference <= TOLERANCE:
        print(f"error: the difference exceeds {TOLERANCE:g}; do not use this file.")
        return 1
    return 0
