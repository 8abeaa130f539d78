"""The state probe: a small CNN that reads the robot's joint positions off a camera image.

Why a planner wants it: a goal image and an imagined frame compared pixel by pixel have local minima
that no search budget removes. On the simulated reacher, a goal showing the elbow folded the other
way is one: every path from one fold to the other passes through poses that overlap the goal less
than the wrong fold does, so the blurred pixel distance rises before it falls. In joint space the
same path is straight. The probe, trained from the joint states recorded next to the camera in the
lab's own bags, maps the goal image and every imagined frame to that space, so the planner can score
imagined futures by how far their joints are from the goal's (`StateProbeGoalCost`). The goal stays
an image and the future still comes from the world model's imagination: the probe only reads it.

The network reads every joint as a point on the unit circle, (cos q, sin q), a target without jumps
for any revolute joint (regressing the reacher's elbow angle itself gave a held-out median error of
4.1 degrees against 1.1 this way, same network and steps). The planner's cost then embeds each joint
by what its motion allows. A joint that turns without limit (periodic) is (cos q, sin q): no seam at
+-pi, and the squared distance 2 - 2 cos(q - q_goal) falls along the shorter way round. Any other
joint is q itself: its squared distance (q - q_goal)^2 falls along the only way there is. The
difference matters: on the reacher, whose elbow stops at +-160 degrees, measuring the elbow the
periodic way points through the stop whenever the elbow has more than 180 degrees to travel, and
the planner with the simulator itself as its model then failed exactly those 11 of the demo's 50
pairs (and, measured the right way, reached 10 of them). Near the goal both distances are
(q - q_goal)^2.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


def joint_embedding(joints: torch.Tensor, periodic: list[bool]) -> torch.Tensor:
    """[..., J] joint positions -> [..., E]: per joint in order, (cos q, sin q) if periodic, else q."""
    parts = []
    for index, wraps in enumerate(periodic):
        q = joints[..., index : index + 1]
        parts += [torch.cos(q), torch.sin(q)] if wraps else [q]
    return torch.cat(parts, dim=-1)


def joints_from_embedding(embedding: torch.Tensor, periodic: list[bool]) -> torch.Tensor:
    """[..., E] -> [..., J] joint positions (periodic ones in (-pi, pi]); the inverse of `joint_embedding`."""
    joints, column = [], 0
    for wraps in periodic:
        if wraps:
            joints.append(torch.atan2(embedding[..., column + 1], embedding[..., column]))
            column += 2
        else:
            joints.append(embedding[..., column])
            column += 1
    return torch.stack(joints, dim=-1)


def circle_points(joints: torch.Tensor) -> torch.Tensor:
    """[..., J] joint positions -> [..., 2J] (cos q_1 .. cos q_J, sin q_1 .. sin q_J): the probe's output."""
    return torch.cat([torch.cos(joints), torch.sin(joints)], dim=-1)


class StateProbe(ModelMixin, ConfigMixin):
    """Camera image [B, 3, H, W] in [-1, 1] -> (cos q, sin q) of every joint, [B, 2J] (see `circle_points`).

    joint_names: the joints, in order; periodic: per joint, whether it turns without limit (see the
    module doc; `vid2world probe` tells from the recorded range). `embed` gives the cost's embedding.

    Four 3x3 convolutions (the last three with stride 2) and a two-layer head: at the 32x32 images of
    the demo model it is 0.66 M parameters and costs ~1% of one denoiser call per frame.
    """

    @register_to_config
    def __init__(
        self,
        joint_names: tuple[str, ...] | list[str],
        periodic: tuple[bool, ...] | list[bool],
        image_size: tuple[int, int] | list[int] = (32, 32),
        channels: tuple[int, ...] | list[int] = (32, 64, 64, 128),
        hidden_size: int = 256,
    ):
        super().__init__()
        if not joint_names or not all(isinstance(name, str) and name for name in joint_names):
            raise ValueError(f"`joint_names` must be a non-empty list of names. Got {joint_names!r}.")
        if len(set(joint_names)) != len(joint_names):
            raise ValueError(f"`joint_names` must be unique. Got {list(joint_names)}.")
        if len(periodic) != len(joint_names) or not all(isinstance(wraps, bool) for wraps in periodic):
            raise ValueError(
                f"`periodic` must be one true/false per joint ({len(joint_names)}). Got {periodic!r}."
            )
        if len(image_size) != 2 or not all(isinstance(side, int) and side >= 8 for side in image_size):
            raise ValueError(f"`image_size` must be [height, width], integers >= 8. Got {image_size!r}.")
        if len(channels) < 2 or not all(isinstance(width, int) and width >= 1 for width in channels):
            raise ValueError(f"`channels` must list at least 2 positive integers. Got {channels!r}.")
        if not isinstance(hidden_size, int) or hidden_size < 1:
            raise ValueError(f"`hidden_size` must be a positive integer. Got {hidden_size!r}.")
        layers: list[nn.Module] = [nn.Conv2d(3, channels[0], 3, padding=1), nn.SiLU()]
        height, width = image_size
        for previous, current in zip(channels[:-1], channels[1:], strict=True):
            layers += [nn.Conv2d(previous, current, 3, stride=2, padding=1), nn.SiLU()]
            height, width = (height + 1) // 2, (width + 1) // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels[-1] * height * width, hidden_size),
            nn.SiLU(),
            nn.Linear(hidden_size, 2 * len(joint_names)),
        )

    @property
    def num_joints(self) -> int:
        return len(self.config.joint_names)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 3, H, W] in [-1, 1] at `image_size` -> [B, 2J] (see `circle_points`)."""
        expected = (3, *self.config.image_size)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            shape = ", ".join(map(str, expected))
            raise ValueError(f"images must be [B, {shape}] in [-1, 1]. Got {list(images.shape)}.")
        return self.head(self.features(images.to(self.dtype)))

    @torch.no_grad()
    def joints(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 3, H, W] in [-1, 1] -> [B, J] joint positions in (-pi, pi]."""
        points = self(images)
        return torch.atan2(points[:, self.num_joints :], points[:, : self.num_joints])

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 3, H, W] in [-1, 1] -> [B, E] the planner's joint embedding (`joint_embedding`)."""
        return joint_embedding(self.joints(images), list(self.config.periodic))
