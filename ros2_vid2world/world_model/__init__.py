"""The Vid2World world model: a causal, action-conditioned video diffusion model (ROS-free).

Names are imported on first use, so the torch-free settings (`world_model.sampler_config`,
`world_model.action_normalization`) can be read without importing torch.
"""

import importlib

_EXPORTS = {
    "CausalTemporalConv": ".causal_conv",
    "causal_kernel": ".causal_conv",
    "causalize": ".causalization",
    "Vid2WorldModel": ".model",
    "WorldModelOutput": ".model",
    "StateProbe": ".state_probe",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
