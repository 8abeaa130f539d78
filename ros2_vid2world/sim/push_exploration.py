"""Exploratory pusher commands for data collection: pushes of the block, so that the data shows it move.

Uniformly random commands leave the block still most of the time: the pusher is a 3 cm disc on a
50 cm table and a random walk rarely meets the block (3 % of steps move it, against 44 % here, over
100 episodes of 50 steps; `collect` measures the share of every recording). So most segments are
pushes, a primitive of the pushing literature:

1. pick a point of the T's footprint (in the block's frame, so it moves and turns with the block) and a
   direction towards a random point near the table's centre (so a block near a wall is pushed off it);
2. go round the block to the start of the push: on the line through that point along that direction,
   just clear of the block;
3. move along the line at a random speed until a few steps past the point: the pusher meets the block
   and pushes it along (and turns it, when the line misses the block's centre of mass).

Of a few such pushes drawn (and as many in any direction), the one whose start is nearest the pusher
is made, an inward one first and one the pusher can reach: a block at a wall cannot be pushed off it
from behind, so it is pushed along the wall or turned.

The other segments are random commands held for a few steps (the pusher alone in the data) and
stillness (a zero command), as in the reacher's exploration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .planar_pose import wrap_angle
from .push_scene import BAR, PUSHER_RADIUS, PUSHER_RANGE, STEM, block_reach, block_shape

# A step counts as one where the block moved when its centre moved more than MOVED_DISTANCE or it turned
# more than MOVED_ANGLE: a quarter of a 64 px image's pixel (8.4 mm), or a 1 mm shift of the bar's ends.
MOVED_DISTANCE = 0.002  # m
MOVED_ANGLE = np.deg2rad(1.0)
BLOCK_REACH = block_reach(block_shape())  # m: 0.081, a stem corner
START_RADIUS = BLOCK_REACH + PUSHER_RADIUS + 0.005  # m from the block's centre: a push starts there
CLEAR_RADIUS = START_RADIUS + 0.02  # m: the way round the block to a push's start
OUTWARD_COST, UNREACHABLE_COST = 0.5, 1.0  # m: penalties of a push candidate (see `_cost`)


@dataclass
class PushExplorationConfig:
    push_probability: float = 0.7  # chance that a new segment is a push of the block
    still_probability: float = 0.05  # chance that it is a zero command
    speed: tuple[float, float] = (0.4, 1.0)  # range of a push's speed, as a fraction of the action bound
    push_steps: tuple[int, int] = (2, 8)  # inclusive range of steps a push goes on past its point
    hold_steps: tuple[int, int] = (1, 4)  # inclusive range of steps one random action is held
    max_approach_steps: int = 15  # a push whose pusher is not at its start by then starts from there
    centre_region: float = 0.12  # m: pushes head for a point within +-this of the table's centre
    candidates: int = 4  # inward pushes (and as many in any direction) drawn per push: see `_cost`

    def __post_init__(self):
        for name in ("push_steps", "hold_steps"):
            low, high = getattr(self, name)
            if not 1 <= low <= high:
                raise ValueError(f"`{name}` must be (low, high) with 1 <= low <= high. Got {(low, high)}.")
        low, high = self.speed
        if not 0 < low <= high <= 1:
            raise ValueError(f"`speed` must be (low, high) with 0 < low <= high <= 1. Got {(low, high)}.")
        for name in ("push_probability", "still_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"`{name}` must be in [0, 1]. Got {getattr(self, name)!r}.")
        if self.push_probability + self.still_probability > 1:
            raise ValueError(
                "`push_probability` + `still_probability` must be <= 1. "
                f"Got {self.push_probability} + {self.still_probability}."
            )
        if self.candidates < 1:
            raise ValueError(f"`candidates` must be >= 1. Got {self.candidates!r}.")
        if self.max_approach_steps < 0 or self.centre_region < 0:
            raise ValueError(
                "`max_approach_steps` and `centre_region` must be >= 0. "
                f"Got {self.max_approach_steps} and {self.centre_region}."
            )


@dataclass
class _Push:
    offset: np.ndarray  # [2] the pushed point, in the block's frame
    direction: np.ndarray  # [2] unit vector of the push, in the table's frame
    speed: float  # fraction of the action bound
    extra_steps: int  # steps past the point
    approach_steps: int  # left to reach the push's start
    steps: int = 0  # left to push, once started


class PushExplorationPolicy:
    """Call it once per control step with the pusher's position and the block's pose for the next action
    in [-1, 1]^2. `step_length`: metres an action of magnitude 1 moves the pusher along an axis per step."""

    def __init__(
        self, rng: np.random.Generator, step_length: float, config: PushExplorationConfig | None = None
    ):
        if not step_length > 0:
            raise ValueError(f"`step_length` must be > 0 (m). Got {step_length!r}.")
        self.config = config or PushExplorationConfig()
        self._rng = rng
        self._step_length = step_length
        self._action = np.zeros(2)
        self._push: _Push | None = None
        self._remaining = 0

    def reset(self) -> None:
        """Start a new segment at the next call (call at the start of an episode)."""
        self._remaining, self._push = 0, None

    def __call__(self, pusher: np.ndarray, block_pose: np.ndarray) -> np.ndarray:
        """pusher: [2] x, y in m; block_pose: [3] x, y in m, yaw in rad."""
        pusher = np.asarray(pusher, dtype=np.float64)
        block_pose = np.asarray(block_pose, dtype=np.float64)
        if self._push is None and self._remaining == 0:
            self._new_segment(pusher, block_pose)
        if self._push is None:
            self._remaining -= 1
            return self._action.copy()
        return self._pushing(pusher, block_pose)

    def _pushing(self, pusher: np.ndarray, block_pose: np.ndarray) -> np.ndarray:
        push = self._push
        point = aimed_point(block_pose, push.offset)
        if push.approach_steps > 0:
            start = self._start(push, block_pose)
            if np.abs(start - pusher).max() > self._step_length / 4:
                push.approach_steps -= 1
                return self._towards(way_round(block_pose[:2], pusher, start) - pusher, 1.0)
            push.approach_steps = 0
        if push.steps == 0:  # starting: as far as the point, then a few steps on
            to_point = max(float(np.dot(point - pusher, push.direction)), 0.0)
            travel = push.speed * self._step_length * float(np.abs(push.direction).max())
            push.steps = int(np.ceil(to_point / travel)) + push.extra_steps
        push.steps -= 1
        if push.steps == 0:
            self._push = None
        return self._towards(push.direction, push.speed)

    def _towards(self, heading: np.ndarray, speed: float) -> np.ndarray:
        """Straight along `heading` (m): the larger axis at `speed`, or less for the last bit of the way."""
        longest = float(np.abs(heading).max())
        if longest < 1e-9:
            return np.zeros(2)
        return min(speed, longest / self._step_length) * heading / longest

    def _random_push(self, block_pose: np.ndarray, inwards: bool) -> _Push:
        """A push towards a point near the table's centre (`inwards`), or in any direction."""
        config, rng = self.config, self._rng
        if inwards:
            towards = rng.uniform(-config.centre_region, config.centre_region, size=2) - block_pose[:2]
        else:
            angle = rng.uniform(-np.pi, np.pi)
            towards = np.array([np.cos(angle), np.sin(angle)])
        return _Push(
            offset=footprint_point(rng),
            direction=towards / max(float(np.linalg.norm(towards)), 1e-9),
            speed=rng.uniform(*config.speed),
            extra_steps=int(rng.integers(config.push_steps[0], config.push_steps[1] + 1)),
            approach_steps=config.max_approach_steps,
        )

    def _cost(self, push: _Push, inwards: bool, pusher: np.ndarray, block_pose: np.ndarray) -> float:
        """The way to the push's start (m), plus a penalty for a push that is not inwards and a larger
        one for a start the pusher cannot reach: a block at a wall cannot be pushed off it from behind,
        so it is pushed along the wall or turned."""
        start = self._start(push, block_pose)
        unreachable = bool(np.any(np.abs(start) > PUSHER_RANGE))
        way = float(np.linalg.norm(start - pusher))
        return way + OUTWARD_COST * (not inwards) + UNREACHABLE_COST * unreachable

    @staticmethod
    def _start(push: _Push, block_pose: np.ndarray) -> np.ndarray:
        return push_start(block_pose[:2], aimed_point(block_pose, push.offset), push.direction)

    def _new_segment(self, pusher: np.ndarray, block_pose: np.ndarray) -> None:
        config, rng = self.config, self._rng
        kind = rng.random()
        if kind < config.push_probability:
            candidates = [
                (self._random_push(block_pose, inwards), inwards)
                for inwards in (True, False)
                for _ in range(config.candidates)
            ]
            self._push = min(candidates, key=lambda c: self._cost(*c, pusher, block_pose))[0]
            return
        self._remaining = int(rng.integers(config.hold_steps[0], config.hold_steps[1] + 1))
        if kind < config.push_probability + config.still_probability:
            self._action = np.zeros(2)
        else:
            self._action = rng.uniform(-1.0, 1.0, size=2)


def footprint_point(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random point of the T's footprint, in the block's frame ([2], m)."""
    shape = block_shape()
    bar_area, stem_area = BAR[0] * BAR[1], STEM[0] * STEM[1]
    on_bar = rng.random() < bar_area / (bar_area + stem_area)
    centre, size = (shape.bar_centre, BAR) if on_bar else (shape.stem_centre, STEM)
    return np.asarray(centre) + rng.uniform(-0.5, 0.5, size=2) * np.asarray(size)


def aimed_point(block_pose: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """The table position of `offset` ([2], in the block's frame) for the block at `block_pose`."""
    x, y, yaw = block_pose
    cos, sin = np.cos(yaw), np.sin(yaw)
    return np.array([x + cos * offset[0] - sin * offset[1], y + sin * offset[0] + cos * offset[1]])


def push_start(centre: np.ndarray, point: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Where a push of `point` along `direction` starts: on that line, before the point, at START_RADIUS
    from the block's centre (clear of the block at any yaw)."""
    relative = point - centre
    along = float(np.dot(relative, direction))
    # |relative - s * direction| = START_RADIUS, the root with the start behind the point (s > 0).
    back = along + np.sqrt(max(along**2 - float(np.dot(relative, relative)) + START_RADIUS**2, 0.0))
    return point - back * direction


def way_round(centre: np.ndarray, pusher: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Where the pusher heads for to reach `target` without sweeping the block along: the target when the
    straight way there keeps clear of the block, else a point beside the block on the nearer side."""
    path = target - pusher
    length_sq = float(np.dot(path, path))
    along = 0.0 if length_sq < 1e-12 else float(np.clip(np.dot(centre - pusher, path) / length_sq, 0.0, 1.0))
    side = pusher + along * path - centre
    if np.linalg.norm(side) >= BLOCK_REACH + PUSHER_RADIUS:
        return target
    if np.linalg.norm(side) < 1e-6:  # straight through the centre: round the left
        side = np.array([-path[1], path[0]])
    return centre + CLEAR_RADIUS * side / np.linalg.norm(side)


def block_moved(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether the block moved between two poses [x, y, yaw] (see MOVED_DISTANCE, MOVED_ANGLE)."""
    shift = float(np.hypot(after[0] - before[0], after[1] - before[1]))
    return bool(shift > MOVED_DISTANCE or abs(wrap_angle(after[2] - before[2])) > MOVED_ANGLE)
