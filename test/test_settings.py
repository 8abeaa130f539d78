"""Settings declared once: validation from the declaration, rules shared, errors named as the user wrote."""

from dataclasses import dataclass

import pytest

from ros2_vid2world.settings import (
    check_settings,
    declared_settings,
    defaults,
    from_values,
    rule_of,
    same_rules_as,
    setting,
)


@dataclass
class Robot:
    speed: float = setting(1.0, "How fast.", unit="m/s", above=0.0, high=2.0)
    joints: int = setting(2, "How many.", low=1)
    mode: str = setting("slow", "Which.", choices=("slow", "fast"))
    limits: tuple[float, ...] = setting((1.0,), "Per joint.")
    seed: int | None = setting(None, "Optional.", low=0, parameter=False)
    enabled: bool = setting(True, "On or off.")

    def __post_init__(self):
        check_settings(self)


@dataclass
class Fleet:
    max_speed: float = same_rules_as(Robot, "speed", 0.5, "Fleet speed.")

    def __post_init__(self):
        check_settings(self)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(speed=0.0), r"`speed` must be in \(0, 2\]. Got 0.0."),
        (dict(speed=float("nan")), r"`speed` must be a finite number in \(0, 2\]. Got nan."),
        (dict(joints=0), r"`joints` must be an integer >= 1. Got 0."),
        (dict(joints=2.0), r"`joints` must be an integer >= 1. Got 2.0."),
        (dict(joints=True), r"`joints` must be an integer >= 1. Got True."),
        (dict(mode="warp"), r"`mode` must be one of \['slow', 'fast'\]. Got 'warp'."),
        (dict(limits="1.0"), r"`limits` must be a list of float. Got '1.0'."),
        (dict(limits=[1.0, "x"]), r"`limits` must be a finite number. Got 'x'."),
        (dict(seed=-1), r"`seed` must be an integer >= 0. Got -1."),
        (dict(enabled=1), r"`enabled` must be true or false. Got 1."),
    ],
)
def test_a_bad_value_is_refused_never_clamped_with_its_name(changes, message):
    with pytest.raises(ValueError, match=message):
        Robot(**changes)


def test_values_are_normalised_to_the_declared_type():
    robot = Robot(speed=1, limits=[1, 2])
    assert robot.speed == 1.0 and isinstance(robot.speed, float)
    assert robot.limits == (1.0, 2.0)
    assert Robot(seed=None).seed is None


def test_declarations_carry_default_rule_and_type():
    declared = {d.name: d for d in declared_settings(Robot)}
    assert declared["speed"].rule.unit == "m/s" and declared["speed"].default == 1.0
    assert declared["seed"].optional and not declared["seed"].rule.parameter
    assert declared["limits"].kind is tuple and declared["limits"].item is float
    assert defaults(Robot)["mode"] == "slow"


def test_a_shared_rule_is_enforced_the_same_way_with_its_own_default_and_text():
    assert Fleet().max_speed == 0.5
    assert rule_of(Fleet, "max_speed").above == rule_of(Robot, "speed").above
    assert rule_of(Fleet, "max_speed").description == "Fleet speed."
    with pytest.raises(ValueError, match=r"`max_speed` must be in \(0, 2\]"):
        Fleet(max_speed=3.0)


def test_from_values_names_the_setting_with_its_prefix_and_ignores_other_keys():
    robot = from_values(Robot, {"arm.speed": 1.5, "arm.other": 1, "speed": 9.0}, prefix="arm.")
    assert robot.speed == 1.5
    with pytest.raises(ValueError, match=r"`arm.joints` must be an integer >= 1. Got 0."):
        from_values(Robot, {"arm.joints": 0}, prefix="arm.")


def test_a_setting_needs_a_description():
    with pytest.raises(ValueError, match="description"):
        setting(1)
