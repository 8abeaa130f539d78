"""Command-line options derived from a config dataclass's declared settings: the default, the type,
the choices and the help text come from the declaration, so a CLI never re-declares a setting."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping

from ..settings import declared_settings


def flag(name: str, flags: Mapping[str, str] | None = None) -> str:
    """The option that sets a field: `learning_rate` -> `--learning-rate` (or its entry in `flags`)."""
    return "--" + dest(name, flags).replace("_", "-")


def dest(name: str, flags: Mapping[str, str] | None = None) -> str:
    """Where argparse keeps that option's value (two configs may share a field name)."""
    return (flags or {}).get(name, name)


def add_setting_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    names: Iterable[str] | None = None,
    flags: Mapping[str, str] | None = None,
    defaults: Mapping[str, object] | None = None,
) -> None:
    """One option per declared setting of `cls` (`names`: which, in that order; default: every setting
    exposed as a parameter). `defaults`: None for settings whose default is the caller's to derive
    (e.g. from the model it is given); the help then says so."""
    declared = {d.name: d for d in declared_settings(cls)}
    chosen = list(names) if names is not None else [n for n, d in declared.items() if d.rule.parameter]
    for name in chosen:
        setting = declared[name]
        rule = setting.rule
        default = (defaults or {}).get(name, setting.default)
        unit = f" [{rule.unit}]" if rule.unit else ""
        shown = "derived from the model" if default is None and name in (defaults or {}) else default
        bounds = f"; {rule.bounds_text()}" if rule.bounds_text() else ""
        help_text = f"{rule.description}{unit} (default {shown}{bounds})"
        kwargs: dict = dict(dest=dest(name, flags), default=default, help=help_text)
        if setting.kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif setting.kind is tuple:
            kwargs.update(type=setting.item, nargs="+")
        else:
            kwargs["type"] = setting.kind
        if rule.choices:
            kwargs["choices"] = list(rule.choices)
        parser.add_argument(flag(name, flags), **kwargs)


def from_args(
    cls: type, args: argparse.Namespace, names: Iterable[str], flags: Mapping[str, str] | None = None, **fixed
):
    """`cls(**{name: args.name for name in names}, **fixed)`; a ValueError names the option, as typed."""
    values = {name: getattr(args, dest(name, flags)) for name in names}
    try:
        return cls(**values, **fixed)
    except ValueError as exc:
        message = str(exc)
        for name in values:
            message = message.replace(f"`{name}`", flag(name, flags))
        raise ValueError(message) from None

