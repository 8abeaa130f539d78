"""One declaration per setting: a config dataclass field carries its default, bounds or choices, unit,
description and whether it may change at runtime.

Everything else is derived from those fields: the validation a config runs in `__post_init__`
(`check_settings`), the ROS 2 parameter descriptors (`ros/parameter_declarations.py`), the command-line
options (`cli/setting_options.py`), and the README tables and `config/vid2world.yaml`
(`settings_reference.py`, checked by a test). Torch- and rclpy-free, so any of them can read it.

    @dataclass
    class CEMConfig:
        population: int = setting(64, "Candidates scored per iteration.", low=2)

        def __post_init__(self):
            check_settings(self)

A rule between fields (elites <= population) stays in that config's `__post_init__`, written once.
A config that repeats another's setting under its own name and default (the planner's
`denoise_steps` is the sampler's `num_inference_steps`) takes its rule with `same_rules_as`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass
from functools import cache
from typing import Any

META_KEY = "vid2world.setting"


@dataclass(frozen=True)
class Rule:
    """What a setting allows and means. `low`/`high` are inclusive bounds, `above`/`below` exclusive
    ones; `choices` lists the allowed values; `unit` is what the number counts (s, rad/s, pixels);
    `dynamic`: may change while a node runs; `parameter`: exposed as a ROS parameter and CLI option
    (False for settings that have no fixed-type value there, e.g. an optional seed); `required`:
    no usable default, the user must set it (the default is an empty value of the right type)."""

    description: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    above: float | None = None
    below: float | None = None
    choices: tuple = ()
    dynamic: bool = False
    parameter: bool = True
    required: bool = False

    def bounds_text(self) -> str:
        """'in [0, 1)', '>= 1', '> 0', ... or '' when unbounded."""
        low = (f"[{_number(self.low)}" if self.low is not None else
               f"({_number(self.above)}" if self.above is not None else None)
        high = (f"{_number(self.high)}]" if self.high is not None else
                f"{_number(self.below)})" if self.below is not None else None)
        if low is not None and high is not None:
            return f"in {low}, {high}"
        if low is not None:
            return (">= " if low[0] == "[" else "> ") + low[1:]
        if high is not None:
            return ("<= " if high[-1] == "]" else "< ") + high[:-1]
        return ""


def setting(
    default: Any = MISSING,
    description: str = "",
    *,
    unit: str = "",
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    below: float | None = None,
    choices: tuple | list = (),
    dynamic: bool = False,
    parameter: bool = True,
    required: bool = False,
) -> Any:
    """A dataclass field with its rule. Tuple defaults are immutable, so they are stored as they are."""
    if not description:
        raise ValueError("every setting needs a one-line `description`.")
    rule = Rule(description, unit, low, high, above, below, tuple(choices), dynamic, parameter, required)
    return dataclasses.field(default=default, metadata={META_KEY: rule})


def same_rules_as(
    owner: type, name: str, default: Any, description: str | None = None, *, dynamic: bool | None = None
) -> Any:
    """A field with the rule of `owner.name` (its bounds, choices and unit: enforced the same way,
    declared once), its own default, and optionally its own description."""
    rule = rule_of(owner, name)
    changes = {}
    if description is not None:
        changes["description"] = description
    if dynamic is not None:
        changes["dynamic"] = dynamic
    rule = dataclasses.replace(rule, **changes)
    return dataclasses.field(default=default, metadata={META_KEY: rule})


@dataclass(frozen=True)
class Declared:
    """One declared setting of a config class: its name, Python type, default and rule."""

    name: str
    kind: type  # int, float, str, bool or tuple (a list of `item` values)
    default: Any
    rule: Rule
    optional: bool = False  # None is allowed
    item: type | None = None  # for tuples: the type of each value

    @property
    def type_name(self) -> str:
        if self.kind is tuple:
            return f"list of {self.item.__name__}"
        return {int: "integer", float: "number", str: "string", bool: "true/false"}[self.kind]


@cache
def declared_settings(cls: type) -> tuple[Declared, ...]:
    """The settings of a config dataclass, in field order (fields without a rule are not settings)."""
    hints = typing.get_type_hints(cls)
    result = []
    for field in dataclasses.fields(cls):
        rule = field.metadata.get(META_KEY)
        if rule is None:
            continue
        kind, optional, item = _kind(hints[field.name], cls, field.name)
        result.append(Declared(field.name, kind, _default(field), rule, optional, item))
    return tuple(result)


def rule_of(cls: type, name: str) -> Rule:
    for field in dataclasses.fields(cls):
        if field.name == name and META_KEY in field.metadata:
            return field.metadata[META_KEY]
    raise KeyError(f"{cls.__name__} declares no setting {name!r}.")


def defaults(cls: type) -> dict[str, Any]:
    """{name: default} of every declared setting."""
    return {s.name: s.default for s in declared_settings(cls)}


def check_settings(config: Any) -> None:
    """Validate (and normalise: ints to floats, lists to tuples) every declared field of `config`, in
    place; ValueError naming the first bad field. For a config's `__post_init__`."""
    for declared in declared_settings(type(config)):
        value = check_value(declared, getattr(config, declared.name))
        object.__setattr__(config, declared.name, value)  # frozen dataclasses too


def check_value(declared: Declared, value: Any, name: str | None = None) -> Any:
    """`value` checked against one declaration (and normalised); ValueError names `name` (default: the
    setting's own)."""
    name = name or declared.name
    rule = declared.rule
    if value is None and declared.optional:
        return None
    if declared.kind is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ValueError(f"`{name}` must be a {declared.type_name}. Got {value!r}.")
        return tuple(_scalar(declared.item, v, name, rule, declared.type_name) for v in value)
    return _scalar(declared.kind, value, name, rule, declared.type_name)


def from_values(cls: type, values: Mapping[str, Any], prefix: str = "", **fixed):
    """An instance of `cls` from `values` keyed by setting name with `prefix` ('planner.population');
    settings missing from `values` keep their default, keys of other settings are ignored. ValueError
    names a bad setting with its prefix, as the user wrote it."""
    names = {s.name for s in declared_settings(cls)}
    chosen = {name: values[prefix + name] for name in names if prefix + name in values}
    try:
        return cls(**chosen, **fixed)
    except ValueError as exc:
        raise ValueError(prefixed(str(exc), cls, prefix)) from None


def prefixed(message: str, cls: type, prefix: str) -> str:
    """A config's error message with its settings named as the user sets them (`population` ->
    `planner.population`)."""
    if not prefix:
        return message
    for declared in declared_settings(cls):
        message = message.replace(f"`{declared.name}`", f"`{prefix}{declared.name}`")
    return message


def _scalar(kind: type, value: Any, name: str, rule: Rule, type_name: str) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"`{name}` must be true or false. Got {value!r}.")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"`{name}` must be an integer{_suffix(rule)}. Got {value!r}.")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"`{name}` must be a finite number{_suffix(rule)}. Got {value!r}.")
        value = float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise ValueError(f"`{name}` must be a string. Got {value!r}.")
    if rule.choices and value not in rule.choices:
        raise ValueError(f"`{name}` must be one of {list(rule.choices)}. Got {value!r}.")
    if kind in (int, float) and not _within(rule, value):
        one_sided = not rule.bounds_text().startswith("in ")
        what = ("an integer " if kind is int else "a finite number ") if one_sided else ""
        raise ValueError(f"`{name}` must be {what}{rule.bounds_text()}. Got {value!r}.")
    return value


def _within(rule: Rule, value: float) -> bool:
    return not (
        (rule.low is not None and value < rule.low)
        or (rule.high is not None and value > rule.high)
        or (rule.above is not None and value <= rule.above)
        or (rule.below is not None and value >= rule.below)
    )


def _suffix(rule: Rule) -> str:
    text = rule.bounds_text()
    return f" {text}" if text else ""


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _default(field: Field) -> Any:
    if field.default is not MISSING:
        return field.default
    if field.default_factory is not MISSING:
        return field.default_factory()
    return None


def _kind(hint: Any, cls: type, name: str) -> tuple[type, bool, type | None]:
    """(kind, optional, item type) of a field's annotation: int, float, str, bool, tuple[X, ...],
    each optionally `| None`."""
    optional = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        if len(members) != 1:
            raise TypeError(f"{cls.__name__}.{name}: a setting has one type (optionally | None).")
        hint = members[0]
    if hint in (int, float, str, bool):
        return hint, optional, None
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis and args[0] in (int, float, str, bool):
            return tuple, optional, args[0]
    raise TypeError(f"{cls.__name__}.{name}: a setting must be int, float, str, bool or tuple[X, ...].")
