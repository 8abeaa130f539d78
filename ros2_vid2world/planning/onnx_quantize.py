"""The int8 denoiser: ONNX Runtime static quantization of the fp32 export, calibrated on real frames.

    fp32 export (onnx_export) -> ONNX Runtime's basic graph optimisation (quant_pre_process: constant
    folding halves this graph's nodes) -> the feeds the denoiser gets while the torch model imagines
    dataset clips (onnx_calibration) -> quantize_static: QDQ format, int8 weights per output channel,
    uint8 activations with ranges from those feeds -> `<out>.int8.onnx`, tied to the same weights.

uint8 activations with int8 weights is the pair ONNX Runtime recommends for x86 CPUs with VNNI
(Sapphire Rapids and most server CPUs since Cascade Lake), where it needs no reduced range.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from onnxruntime.quantization import CalibrationDataReader

from ..dataset.store import EpisodeDataset
from ..world_model.folder import WorldModelFolder
from .calibration_config import CalibrationConfig
from .onnx_calibration import calibration_feeds, check_calibration_data, dataset_clips
from .onnx_export import PRECISION_KEY, export_denoiser, write_atomically

# What is quantized. Matrix products and convolutions carry nearly all the arithmetic; the attention's
# softmax, the normalisations and the elementwise glue stay fp32: quantizing every operator ONNX Runtime
# can took models/reacher's imagined frames from 39 to 28 dB PSNR against fp32 for a few % of speed.
QUANTIZED_OPS = ("Conv", "MatMul", "Gemm")


def int8_path(fp32_path: str | os.PathLike) -> Path:
    """Where `vid2world export-onnx --int8` writes by default: denoiser.onnx -> denoiser.int8.onnx."""
    path = Path(fp32_path)
    return path.with_name(f"{path.name.removesuffix('.onnx')}.int8.onnx")


class FeedReader(CalibrationDataReader):
    """The calibration's inputs: an iterator of feeds, counted as they are read."""

    def __init__(self, feeds: Iterable[dict]):
        self._feeds: Iterator[dict] = iter(feeds)
        self.count = 0

    def get_next(self) -> dict | None:
        feed = next(self._feeds, None)
        self.count += feed is not None
        return feed


def save_int8_denoiser(
    folder: WorldModelFolder,
    dataset: EpisodeDataset,
    path: str | os.PathLike,
    config: CalibrationConfig | None = None,
    fp32_model: bytes | None = None,
) -> tuple[Path, int]:
    """The folder's denoiser quantized to int8, calibrated on `config.clips` clips of `dataset`, written
    atomically to `path`. fp32_model: the fp32 export's bytes when already made (else exported here).

    Returns (path, number of denoiser calls calibrated on). ValueError when the dataset does not fit
    the model (image size, action dimension, clip length).
    """
    config = config or CalibrationConfig()
    check_calibration_data(folder, dataset, config)
    fp32_model = fp32_model if fp32_model is not None else export_denoiser(folder.model)
    feeds = calibration_feeds(folder, dataset_clips(folder, dataset, config), config.sampler_config())
    return quantize_denoiser(fp32_model, feeds, path)


def quantize_denoiser(fp32_model: bytes, feeds: Iterable[dict], path: str | os.PathLike) -> tuple[Path, int]:
    """Quantize an fp32 denoiser export (its bytes) with activation ranges from `feeds`, and write it to
    `path` atomically with the export's metadata and `vid2world.precision` = int8.

    Returns (path, number of feeds calibrated on). ValueError when `feeds` is empty.
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {str(path)!r}: directory {str(path.parent)!r} does not exist.")
    feeds = iter(feeds)
    first = next(feeds, None)
    if first is None:
        raise ValueError("no calibration feeds: the int8 ranges need at least one denoiser call.")
    reader = FeedReader(itertools.chain([first], feeds))
    with tempfile.TemporaryDirectory(prefix="vid2world-int8-") as work, _quiet_onnxruntime():
        fp32_path, optimized, int8_file = (Path(work) / f"{name}.onnx" for name in ("fp32", "opt", "int8"))
        fp32_path.write_bytes(fp32_model)
        # Symbolic shape inference stops at this graph's dynamic reshapes ("Incomplete symbolic shape
        # inference"); without it the quantized denoiser is as close to fp32 (measured on models/reacher).
        quant_pre_process(fp32_path, optimized, skip_symbolic_shape=True)
        quantize_static(
            optimized,
            int8_file,
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(QUANTIZED_OPS),
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        proto = onnx.load(int8_file)
    properties = {p.key: p.value for p in onnx.load_from_string(fp32_model).metadata_props}
    onnx.helper.set_model_props(proto, {**properties, PRECISION_KEY: "int8"})
    return write_atomically(path, proto.SerializeToString()), reader.count


@contextlib.contextmanager
def _quiet_onnxruntime():
    """The quantizer logs advice (pre-processing, biases that are not initializers) through the root
    logger as warnings, hundreds of lines for this graph; none of it is an error."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
