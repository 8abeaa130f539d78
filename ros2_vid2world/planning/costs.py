"""Cost terms that score imagined rollouts, each with a weight, summed into one cost per candidate.

Every term maps (latents [N, H, C, h, w] or None, candidates [N, H, A], context) -> costs [N], lower is
better. Latents and candidates are aligned in time: candidates[:, k] is the action that led to latents[:, k].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..choices import REACH_SOURCES
from ..world_model.latent_codec import is_patch_size
from ..world_model.state_probe import OBJECT_STATES


@dataclass
class CostContext:
    """Per-decision data the cost terms may need.

    joints: [J] current joint positions (JointGoalCost with action_kind="delta").
    previous_action: [A] the action executed last (ActionSmoothnessCost penalises jumping away from it).
    """

    joints: torch.Tensor | None = None
    previous_action: torch.Tensor | None = None


def commanded_joints(joints: torch.Tensor, candidates: torch.Tensor, dt: float) -> torch.Tensor:
    """[J] joints now, [N, H, J] commands that each move the joints by command x dt -> [N, J] at the end."""
    return joints.to(candidates) + candidates.sum(dim=1) * dt


class CostTerm:
    """A weighted cost term. Subclasses implement `cost` (unweighted); calling the term applies the weight."""

    name = "cost"

    def __init__(self, weight: float = 1.0, name: str | None = None):
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"`weight` of {type(self).__name__} must be a finite number >= 0. Got {weight}.")
        self.weight = float(weight)
        if name is not None:
            self.name = name

    def __call__(
        self, latents: torch.Tensor | None, candidates: torch.Tensor, context: CostContext | None = None
    ) -> torch.Tensor:
        """Weighted costs [N] for candidates [N, H, A] and their imagined latents [N, H, C, h, w] or None."""
        if candidates.ndim != 3:
            raise ValueError(f"candidates must be [N, H, A]. Got shape {list(candidates.shape)}.")
        cost = self.cost(latents, candidates, context or CostContext())
        n = candidates.shape[0]
        if tuple(cost.shape) != (n,):
            raise ValueError(f"{type(self).__name__} must return [N] = [{n}]. Got shape {list(cost.shape)}.")
        return self.weight * cost

    def cost(
        self, latents: torch.Tensor | None, candidates: torch.Tensor, context: CostContext
    ) -> torch.Tensor:
        raise NotImplementedError


class GoalLatentCost(CostTerm):
    """Mean squared distance between imagined latents and a goal latent [C, h, w], e.g. an encoded goal image.

    mode="final": the last imagined frame only. mode="discounted": every frame k of H, weighted by
    discount^(H-1-k) and normalised to sum to 1, so the last frame counts most but reaching the goal
    early is also rewarded.

    blur: standard deviation, in latent pixels, of a Gaussian applied to both sides before the
    distance (0 = none). A thin object (an arm link) that overlaps its goal pose nowhere has the same
    raw distance wherever it is, so a short-horizon plan sees no progress; blurred, the distance
    shrinks as it comes closer (on the simulated reacher at 32x32, blur 2 made the distance fall along
    86% of straight joint-space paths to the goal, against 70% without).

    patch_size: for models that see p x p pixel patches as channels (see `LatentCodec`), p: both
    sides are unfolded to pixels first, so `blur` is in image pixels whatever the patch size (the
    squared distance itself does not change: unfolding only rearranges values).
    """

    name = "goal_latent"
    MODES = ("final", "discounted")

    def __init__(
        self,
        goal: torch.Tensor,
        mode: str = "final",
        discount: float = 0.9,
        weight: float = 1.0,
        name: str | None = None,
        blur: float = 0.0,
        patch_size: int = 1,
    ):
        super().__init__(weight, name)
        if not is_patch_size(patch_size):
            raise ValueError(f"`patch_size` must be an integer >= 1. Got {patch_size!r}.")
        self.patch_size = patch_size
        if goal.ndim != 3:
            raise ValueError(f"`goal` must be a latent [C, h, w]. Got shape {list(goal.shape)}.")
        if mode not in self.MODES:
            raise ValueError(f"`mode` must be one of {list(self.MODES)}. Got {mode!r}.")
        if not 0.0 < discount <= 1.0:
            raise ValueError(f"`discount` must be in (0, 1]. Got {discount}.")
        if not blur >= 0.0:
            raise ValueError(f"`blur` must be >= 0. Got {blur}.")
        self.blur = blur
        self.goal_shape = goal.shape
        self.goal = self._blurred(goal[None, None])[0, 0]
        self.mode = mode
        self.discount = discount

    def _blurred(self, latents: torch.Tensor) -> torch.Tensor:
        """Separable Gaussian over the image plane of [N, H, C, h, w], edges replicated."""
        if self.patch_size > 1:
            latents = torch.nn.functional.pixel_shuffle(latents, self.patch_size)
        if self.blur == 0.0:
            return latents
        radius = max(1, round(3 * self.blur))
        taps = torch.arange(-radius, radius + 1, dtype=latents.dtype, device=latents.device)
        kernel = torch.exp(-0.5 * (taps / self.blur) ** 2)
        kernel = kernel / kernel.sum()
        shape = latents.shape
        x = latents.reshape(-1, 1, *shape[-2:])
        x = torch.nn.functional.pad(x, (radius, radius, radius, radius), mode="replicate")
        x = torch.nn.functional.conv2d(x, kernel.view(1, 1, 1, -1))
        x = torch.nn.functional.conv2d(x, kernel.view(1, 1, -1, 1))
        return x.reshape(shape)

    def cost(self, latents, candidates, context):
        if latents is None:
            raise ValueError("GoalLatentCost needs imagined latents [N, H, C, h, w]. Got None.")
        expected = [candidates.shape[0], "H", *self.goal_shape]
        if (
            latents.ndim != 5
            or latents.shape[0] != candidates.shape[0]
            or latents.shape[2:] != self.goal_shape
        ):
            raise ValueError(
                f"GoalLatentCost expected latents of shape {expected}. Got {list(latents.shape)}."
            )
        goal = self.goal.to(latents)
        latents = self._blurred(latents)
        if self.mode == "final":
            return ((latents[:, -1] - goal) ** 2).mean(dim=(1, 2, 3))
        distance = ((latents - goal) ** 2).mean(dim=(2, 3, 4))  # [N, H]
        horizon = latents.shape[1]
        exponents = torch.arange(horizon - 1, -1, -1, device=latents.device, dtype=latents.dtype)
        weights = self.discount**exponents
        return (distance * (weights / weights.sum())).sum(dim=1)


class StateProbeGoalCost(CostTerm):
    """Squared distance, in the state probe's joint embedding, between the last imagined frame and the goal.

    probe: images [B, 3, H, W] in [-1, 1] -> joint embeddings [B, E] (a `StateProbe`'s `embed`);
    decode: model-space latents [B, 1, C, h, w] -> images [B, 1, 3, H, W] in [-1, 1] (the folder's
    `LatentCodec.decode`); goal: the goal image's latent [C, h, w]. Per joint the distance is
    2 - 2 cos(q - q_goal) for a joint that turns without limit and (q - q_goal)^2 otherwise: it falls
    along the whole joint-space path to the goal, where a pixel distance can rise first (see
    `world_model/state_probe.py`).
    """

    name = "state_probe_goal"

    def __init__(self, probe, decode, goal: torch.Tensor, weight: float = 1.0, name: str | None = None):
        super().__init__(weight, name)
        if goal.ndim != 3:
            raise ValueError(f"`goal` must be a latent [C, h, w]. Got shape {list(goal.shape)}.")
        self.probe = probe
        self.decode = decode
        self.goal_shape = goal.shape
        with torch.no_grad():
            self.goal_embedding = self._embed(goal[None])[0]

    def _embed(self, latents: torch.Tensor) -> torch.Tensor:
        """[B, C, h, w] model-space frames -> [B, 2J] joint embeddings."""
        images = self.decode(latents[:, None])[:, 0].clamp(-1.0, 1.0)
        return self.probe(images).float()

    def cost(self, latents, candidates, context):
        if latents is None:
            raise ValueError("StateProbeGoalCost needs imagined latents [N, H, C, h, w]. Got None.")
        expected = [candidates.shape[0], "H", *self.goal_shape]
        if latents.ndim != 5 or latents.shape[0] != expected[0] or latents.shape[2:] != self.goal_shape:
            got = list(latents.shape)
            raise ValueError(f"StateProbeGoalCost expected latents of shape {expected}. Got {got}.")
        # Only the last frame is decoded: for an autoencoder model that is one decode per candidate,
        # the price of a probe that reads camera-like images (and is trained on camera frames).
        embedding = self._embed(latents[:, -1])
        return ((embedding - self.goal_embedding.to(embedding)) ** 2).sum(dim=1)


class ObjectGoalCost(CostTerm):
    """How far the last imagined frame's object is from the goal image's, as the state probe reads both:
    object_weight (|xy - xy_goal|^2 + r^2 (2 - 2 cos(yaw - yaw_goal))) + reach_weight |pusher - xy|^2.

    r (`yaw_radius`, m per rad) makes a turn count like the distance a point r from the object's centre
    moves: at the push task's tolerances, 2 cm / 20 deg = 0.057 m, a block at either tolerance costs the
    same. The reach term draws the pusher (the probe's two sliding joints, x and y on the table) to the
    object: an object cost alone is flat while the pusher is away from the object, so a short horizon
    sees no plan that moves it (with the simulator itself as the model, horizon 3: 10 of 20 exploration
    goals reached without it, 20 of 20 with reach_weight / object_weight = 0.1). The goal image's pusher
    is not scored: success is the object's pose.

    reach_source "joints": the pusher's position at the plan's end is not read off the imagined frame
    but computed, context.joints + the sum of the plan's commands x `control_period` (velocity-commanded
    sliding joints, one action per joint): a model that draws a small pusher as a faint blob three
    steps ahead still shows where the block goes, but the probe cannot say where the pusher is.

    reach_offset (m): the reach term's target is not the object's centre but a point this far behind it,
    on the side away from the goal, where a push moves the object towards the goal (within 1 mm of the
    goal, where that side is undefined, the target slides to the centre). Drawn to the centre, the
    pusher is as welcome on the object's goal side, from where no push brings it to the goal: with the
    simulator itself as the model (the push demo's 50 exploration pairs, CEM 32 x 2, horizon 3) the
    planner reached 41 of 50 goals with the centre, its failures all 2.6-7 cm short, and 50 of 50 with
    the target 5 cm behind the object (both scored by stage 11's probe; with the target behind it, 45
    of 50 scored by stage 13's and 48 by stage 14's).
    """

    name = "object_goal"

    def __init__(
        self,
        probe,
        decode,
        goal: torch.Tensor,
        object_weight: float,
        yaw_radius: float,
        reach_weight: float = 0.0,
        name: str | None = None,
        reach_source: str = "imagined",
        control_period: float = 1.0,
        reach_offset: float = 0.0,
    ):
        super().__init__(1.0, name)
        if not (math.isfinite(reach_offset) and reach_offset >= 0):
            raise ValueError(f"`reach_offset` must be a finite number >= 0 (m). Got {reach_offset!r}.")
        if reach_source not in REACH_SOURCES:
            raise ValueError(f"`reach_source` must be one of {list(REACH_SOURCES)}. Got {reach_source!r}.")
        if goal.ndim != 3:
            raise ValueError(f"`goal` must be a latent [C, h, w]. Got shape {list(goal.shape)}.")
        self.object = probe.state_index(OBJECT_STATES, "the object goal cost")
        self.pusher: list[int] = []
        if reach_weight > 0:
            sliding = [index for index, unit in enumerate(probe.units) if unit == "m"]
            self.pusher = [index for index in sliding if index not in self.object]
            if len(self.pusher) != 2:
                names = [probe.config.joint_names[index] for index in self.pusher]
                raise ValueError(
                    "`reach_weight` needs a state probe with exactly two sliding joints (the pusher's x and "
                    f"y on the table); this one has {names}."
                )
        self.probe, self.decode, self.goal_shape = probe, decode, goal.shape
        self.object_weight, self.yaw_radius, self.reach_weight = object_weight, yaw_radius, reach_weight
        self.reach_source, self.control_period, self.reach_offset = reach_source, control_period, reach_offset
        with torch.no_grad():
            self.goal_state = self._states(goal[None])[0]

    def _states(self, latents: torch.Tensor) -> torch.Tensor:
        """[B, C, h, w] model-space frames -> [B, S] the probe's states."""
        images = self.decode(latents[:, None])[:, 0].clamp(-1.0, 1.0)
        return self.probe.joints(images).float()

    def cost(self, latents, candidates, context):
        if latents is None or latents.ndim != 5 or latents.shape[2:] != self.goal_shape:
            got = None if latents is None else list(latents.shape)
            shape = ", ".join(map(str, self.goal_shape))
            raise ValueError(f"ObjectGoalCost expected latents [N, H, {shape}]. Got {got}.")
        states = self._states(latents[:, -1])
        x, y, yaw = self.object
        goal = self.goal_state.to(states)
        position = (states[:, x] - goal[x]) ** 2 + (states[:, y] - goal[y]) ** 2
        turn = self.yaw_radius**2 * (2 - 2 * torch.cos(states[:, yaw] - goal[yaw]))
        total = self.object_weight * (position + turn)
        if self.pusher:
            pusher = states[:, self.pusher] if self.reach_source == "imagined" else self._commanded_pusher(
                candidates, context
            )
            target = states[:, [x, y]]
            if self.reach_offset > 0:
                away = target - goal[[x, y]]
                target = target + away / away.norm(dim=1, keepdim=True).clamp_min(1e-3) * self.reach_offset
            total = total + self.reach_weight * ((pusher - target) ** 2).sum(dim=1)
        return total

    def _commanded_pusher(self, candidates: torch.Tensor, context: CostContext) -> torch.Tensor:
        """[N, 2] the pusher's joints at the plan's end: now + the commanded velocities x control_period."""
        joints = context.joints
        if joints is None or joints.ndim != 1 or candidates.shape[2] != joints.shape[0]:
            got = None if joints is None else list(joints.shape)
            raise ValueError(
                "reach_source 'joints' needs the current joint positions, one per action entry "
                f"(velocity commands): actions {list(candidates.shape[2:])}, joints {got}."
            )
        return commanded_joints(joints, candidates, self.control_period)[:, self.pusher].float()


class ActionMagnitudeCost(CostTerm):
    """Mean squared action over the horizon and action dimensions: prefers small commands."""

    name = "action_magnitude"

    def cost(self, latents, candidates, context):
        return (candidates**2).mean(dim=(1, 2))


class ActionSmoothnessCost(CostTerm):
    """Mean squared difference between consecutive actions, starting from context.previous_action if given.

    Without a previous action and with a horizon of 1 there is nothing to compare: the cost is 0.
    """

    name = "action_smoothness"

    def cost(self, latents, candidates, context):
        n, _, action_dim = candidates.shape
        steps = candidates
        if context.previous_action is not None:
            previous = context.previous_action
            if tuple(previous.shape) != (action_dim,):
                raise ValueError(
                    f"context.previous_action must be [A] = [{action_dim}]. Got shape {list(previous.shape)}."
                )
            steps = torch.cat([previous.to(candidates).expand(n, 1, action_dim), candidates], dim=1)
        if steps.shape[1] < 2:
            return candidates.new_zeros(n)
        return (steps.diff(dim=1) ** 2).mean(dim=(1, 2))


class JointGoalCost(CostTerm):
    """Squared Euclidean distance between the predicted final joint positions and goal_joints [J].

    The actions are joint commands, one entry per joint (A == J):
    action_kind="delta": each action moves the joints by action * dt, so the final joints are
        context.joints + sum over the horizon of actions * dt (needs context.joints).
    action_kind="absolute": each action is a joint target; the final joints are the last action.
    """

    name = "joint_goal"
    ACTION_KINDS = ("delta", "absolute")

    def __init__(
        self,
        goal_joints: torch.Tensor,
        action_kind: str = "delta",
        dt: float = 1.0,
        weight: float = 1.0,
        name: str | None = None,
    ):
        super().__init__(weight, name)
        if goal_joints.ndim != 1:
            raise ValueError(f"`goal_joints` must be [J]. Got shape {list(goal_joints.shape)}.")
        if action_kind not in self.ACTION_KINDS:
            raise ValueError(f"`action_kind` must be one of {list(self.ACTION_KINDS)}. Got {action_kind!r}.")
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"`dt` must be a finite number > 0. Got {dt}.")
        self.goal_joints = goal_joints
        self.action_kind = action_kind
        self.dt = dt

    def cost(self, latents, candidates, context):
        num_joints = self.goal_joints.shape[0]
        if candidates.shape[2] != num_joints:
            raise ValueError(
                f"JointGoalCost needs one action entry per joint: A must be J = {num_joints}. "
                f"Got candidates of shape {list(candidates.shape)}."
            )
        goal = self.goal_joints.to(candidates)
        if self.action_kind == "absolute":
            final = candidates[:, -1]
        else:
            joints = context.joints
            if joints is None or tuple(joints.shape) != (num_joints,):
                got = None if joints is None else list(joints.shape)
                raise ValueError(
                    f"JointGoalCost(action_kind='delta') needs context.joints of shape [J] = [{num_joints}]. "
                    f"Got {got}."
                )
            final = commanded_joints(joints, candidates, self.dt)
        return ((final - goal) ** 2).sum(dim=1)


class CompositeCost:
    """The weighted sum of cost terms, plus each term's mean contribution for diagnostics."""

    def __init__(self, terms: Sequence[CostTerm]):
        terms = list(terms)
        if not terms or not all(isinstance(term, CostTerm) for term in terms):
            raise ValueError(f"`terms` must be a non-empty list of CostTerm. Got {terms!r}.")
        names = [term.name for term in terms]
        if len(set(names)) != len(names):
            raise ValueError(f"cost term names must be unique (pass name=...). Got {names}.")
        self.terms = terms

    def __call__(
        self, latents: torch.Tensor | None, candidates: torch.Tensor, context: CostContext | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Total costs [N] and {term name: mean weighted cost over the candidates with a finite value}."""
        total = None
        means = {}
        for term in self.terms:
            value = term(latents, candidates, context)
            total = value if total is None else total + value
            finite = value[torch.isfinite(value)]
            means[term.name] = finite.mean().item() if finite.numel() else math.nan
        return total, means
