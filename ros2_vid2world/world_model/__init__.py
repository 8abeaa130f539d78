"""The Vid2World world model: a causal, action-conditioned video diffusion model (ROS-free)."""

from .causal_conv import WEIGHT_TRANSFERS, CausalTemporalConv, causal_kernel
from .causalize import causalize
from .model import Vid2WorldModel, WorldModelOutput
from .state_probe import StateProbe

__all__ = [
    "WEIGHT_TRANSFERS",
    "CausalTemporalConv",
    "StateProbe",
    "Vid2WorldModel",
    "WorldModelOutput",
    "causal_kernel",
    "causalize",
]
