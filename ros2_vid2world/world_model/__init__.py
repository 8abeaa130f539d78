"""The Vid2World world model: a causal, action-conditioned video diffusion model (ROS-free).

Names are imported on first use, so the torch-free settings (`world_model.sampler_config`,
`world_model.action_normalization`) can be read without importing torch.
"""

from ..lazy_exports import lazy_getattr

_EXPORTS = {
    "CausalTemporalConv": ".causal_conv",
    "causal_kernel": ".causal_conv",
    "causalize": ".causalization",
    "Vid2WorldModel": ".model",
    "WorldModelOutput": ".model",
    "StateProbe": ".state_probe",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
