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

An object's pose is state too: trained on a dataset that keeps one (`object_poses.npy`, e.g. the push
task's block), the probe also reads `object_x`, `object_y` (m) and `object_yaw` (rad) after the joints,
and the object goal cost (`ObjectGoalCost`) scores plans by them. `units` says per state whether it is
an angle (rad) or a length (m, a sliding joint such as the pusher's, or the object's position). A
length has no circle: its pair of outputs is (1, q / LENGTH_SCALE), read back as LENGTH_SCALE times
the second. (As (cos q, sin q) a length of centimetres is a tiny sine beside a cosine near 1, and the
angle read back divides by the cosine's error: held-out errors of 10-16 cm on a 0.5 m table.)

With `yaw_pooling`, the object's yaw is not read by the dense head. A branch on the feature map before
the last stride (with the deeper map upsampled onto it as context) gives at every location a weight and
a (cos, sin); the yaw's pair is their mean under a spatial softmax of the weights: attention pooling.
That is translation-equivariant: the T looks the same wherever it lies, so what the branch learns at
one place holds at every other, where a dense head must learn every orientation at every place. On
the push task (600 steps, 8,000 frames, held-out median): yaw 7.3 degrees pooled against 91 dense
(the dense head's best run, 6,000 steps on 62,000 frames: 9.9, and 43-60 in others); the shared
features it trains also read the block's position better (2.3 mm against 33 at 600 steps).
It is off by default: on the tests' synthetic 24-pixel bar it did not learn the yaw in 400-800 steps
where the dense head did (`vid2world probe --yaw-pooling`; recipes/push.yaml sets it).
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

OBJECT_STATES = ("object_x", "object_y", "object_yaw")  # after the joints, when the probe reads an object
OBJECT_UNITS = ("m", "m", "rad")
UNITS = ("rad", "m")
LENGTH_SCALE = 0.1  # m: a length's target is q / LENGTH_SCALE, about as spread as a sine on a table's scale


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


def circle_points(joints: torch.Tensor, units: list[str] | None = None) -> torch.Tensor:
    """[..., J] joint positions -> [..., 2J] (cos q_1 .. cos q_J, sin q_1 .. sin q_J): the probe's output;
    for a length (units "m") the pair is (1, q / LENGTH_SCALE) instead (see the module doc)."""
    points = torch.cat([torch.cos(joints), torch.sin(joints)], dim=-1)
    if units is not None and "m" in units:
        length = torch.tensor([unit == "m" for unit in units])
        count = len(units)
        points[..., :count] = torch.where(length, torch.ones_like(joints), points[..., :count])
        points[..., count:] = torch.where(length, joints / LENGTH_SCALE, points[..., count:])
    return points


class StateProbe(ModelMixin, ConfigMixin):
    """Camera image [B, 3, H, W] in [-1, 1] -> (cos q, sin q) of every joint, [B, 2J] (see `circle_points`).

    joint_names: the states, in order (the joints, then OBJECT_STATES when it reads an object); periodic:
    per state, whether it turns without limit (see the module doc; `vid2world probe` tells from the
    recorded range); units: per state "rad" or "m" (None: all rad, as probes before units were).
    `embed` gives the cost's embedding. input_pooling: images at `image_size` are averaged down by this
    factor before the convolutions (a probe moved to a world model of larger images, `with_input_pooling`).

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
        units: tuple[str, ...] | list[str] | None = None,
        yaw_pooling: bool = False,
        input_pooling: int = 1,
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
        if units is not None and (len(units) != len(joint_names) or not all(unit in UNITS for unit in units)):
            raise ValueError(
                f"`units` must be one of {list(UNITS)} per state ({len(joint_names)}). Got {units!r}."
            )
        if len(image_size) != 2 or not all(isinstance(side, int) and side >= 8 for side in image_size):
            raise ValueError(f"`image_size` must be [height, width], integers >= 8. Got {image_size!r}.")
        if len(channels) < 2 or not all(isinstance(width, int) and width >= 1 for width in channels):
            raise ValueError(f"`channels` must list at least 2 positive integers. Got {channels!r}.")
        if not isinstance(hidden_size, int) or hidden_size < 1:
            raise ValueError(f"`hidden_size` must be a positive integer. Got {hidden_size!r}.")
        if yaw_pooling and (tuple(joint_names[-3:]) != OBJECT_STATES or units is None
                            or tuple(units[-3:]) != OBJECT_UNITS):
            raise ValueError(
                "`yaw_pooling` reads an object's yaw: the states must end with "
                f"{list(OBJECT_STATES)} in units {list(OBJECT_UNITS)}. "
                f"Got {list(joint_names)} in {units!r}."
            )
        if not isinstance(input_pooling, int) or isinstance(input_pooling, bool) or input_pooling < 1 or any(
            side % input_pooling or side // input_pooling < 8 for side in image_size
        ):
            raise ValueError(
                f"`input_pooling` must be an integer >= 1 dividing the image size {list(image_size)} into "
                f"sides >= 8. Got {input_pooling!r}."
            )
        layers: list[nn.Module] = [nn.Conv2d(3, channels[0], 3, padding=1), nn.SiLU()]
        height, width = (side // input_pooling for side in image_size)
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
        if yaw_pooling:  # per location: a weight and (cos, sin), on the map before the last stride
            self.yaw_maps = nn.Sequential(
                nn.Conv2d(channels[-2] + channels[-1], channels[-2], 3, padding=1),
                nn.SiLU(),
                nn.Conv2d(channels[-2], 3, 1),
            )

    def with_input_pooling(self, factor: int) -> StateProbe:
        """This probe on images `factor` times larger, averaged down by `factor` before it reads them: the
        same weights, reading what it read (for a world model moved to larger images, `finer_patches`)."""
        config = {key: value for key, value in self.config.items() if not key.startswith("_")}
        size = [side * factor for side in self.config.image_size]
        pooling = self.config.input_pooling * factor
        pooled = StateProbe(**{**config, "image_size": size, "input_pooling": pooling})
        pooled.load_state_dict(self.state_dict())
        pooled = pooled.to(self.device).train(self.training)
        return pooled if pooled.dtype == self.dtype else pooled.to(dtype=self.dtype)

    @property
    def num_joints(self) -> int:
        return len(self.config.joint_names)

    @property
    def units(self) -> list[str]:
        return list(self.config.units or ["rad"] * self.num_joints)

    def state_index(self, names: tuple[str, ...] | list[str], what: str) -> list[int]:
        """Column of each of `names` in `joints()`; a ValueError saying `what` needs them if one lacks."""
        have = list(self.config.joint_names)
        missing = [name for name in names if name not in have]
        if missing:
            raise ValueError(
                f"{what} needs a state probe that reads {list(names)}; this one reads {have} (missing "
                f"{missing}): train it with `vid2world probe` on a dataset that keeps them."
            )
        return [have.index(name) for name in names]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 3, H, W] in [-1, 1] at `image_size` -> [B, 2J] (see `circle_points`)."""
        expected = (3, *self.config.image_size)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            shape = ", ".join(map(str, expected))
            raise ValueError(f"images must be [B, {shape}] in [-1, 1]. Got {list(images.shape)}.")
        images = images.to(self.dtype)
        if self.config.input_pooling > 1:
            images = nn.functional.avg_pool2d(images, self.config.input_pooling)
        if not self.config.yaw_pooling:
            return self.head(self.features(images))
        finer = self.features[:-2](images)  # the map before the last stride-2 convolution
        deep = self.features[-2:](finer)
        context = nn.functional.interpolate(deep, size=finer.shape[-2:], mode="nearest")
        maps = self.yaw_maps(torch.cat([finer, context], dim=1)).flatten(2)  # [B, 3, h * w]
        weights = maps[:, 0].softmax(dim=-1)
        yaw = (weights[:, None] * maps[:, 1:]).sum(dim=-1)  # [B, 2]: (cos, sin), unnormalised
        points = self.head(deep)
        count = self.num_joints
        return torch.cat([points[:, : count - 1], yaw[:, :1], points[:, count:-1], yaw[:, 1:]], dim=1)

    @torch.no_grad()
    def joints(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 3, H, W] in [-1, 1] -> [B, J] joint positions: angles in (-pi, pi], lengths in m."""
        points = self(images)
        angles = torch.atan2(points[:, self.num_joints :], points[:, : self.num_joints])
        if self.config.units is None:
            return angles
        length = torch.tensor([unit == "m" for unit in self.units], device=points.device)
        return torch.where(length, points[:, self.num_joints :] * LENGTH_SCALE, angles)

    def absolute_errors(self, states: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """|states - reference| per state ([..., J] each, as `joints` gives them) in reading units: degrees
        for angles (the shorter way round for periodic ones), millimetres for lengths."""
        difference = states - reference
        wrapped = torch.remainder(difference + torch.pi, 2 * torch.pi) - torch.pi
        periodic = torch.tensor(list(self.config.periodic), device=states.device)
        scale = torch.tensor(
            [1000.0 if unit == "m" else 180.0 / torch.pi for unit in self.units], device=states.device
        )
        return torch.where(periodic, wrapped, difference).abs() * scale

    @property
    def error_units(self) -> list[str]:
        """Per state, the unit `absolute_errors` gives: "deg" or "mm"."""
        return ["mm" if unit == "m" else "deg" for unit in self.units]

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 3, H, W] in [-1, 1] -> [B, E] the planner's joint embedding (`joint_embedding`)."""
        return joint_embedding(self.joints(images), list(self.config.periodic))
