"""Commands that read episodes from bags or from elsewhere (a LeRobot dataset, a dataset folder).

The bag options (`bag_topic_arguments`) are shared with commands that always read bags, where
--image-topic is required; here it is required only when bags are read, and a bag option given with
another source is refused rather than silently ignored.
"""

from __future__ import annotations

import argparse

from .bag_topic_arguments import add_bag_topic_arguments


def add_optional_bag_arguments(parser: argparse.ArgumentParser, fps_help: str) -> None:
    """The bag options, with --image-topic optional (`check_bag_options` asks for it when bags are read)."""
    added = add_bag_topic_arguments(parser, fps_help=fps_help, image_topic_required=False)
    # Each bag option's flag and default, to tell which were given.
    parser.set_defaults(bag_options={a.dest: (a.option_strings[0], a.default) for a in added})


def check_bag_options(args: argparse.Namespace, source: str | None, allowed: tuple[str, ...] = ()) -> None:
    """`source`: the option that names another source (e.g. "--lerobot"), or None when bags are read."""
    if source is None:
        if not args.image_topic:
            raise ValueError("--image-topic is required to read bags.")
        return
    given = [
        flag
        for dest, (flag, default) in args.bag_options.items()
        if dest not in allowed and getattr(args, dest) != default
    ]
    if given:
        verb = "is an option" if len(given) == 1 else "are options"
        raise ValueError(f"{', '.join(given)} {verb} for reading bags, not for {source}.")


def refuse_options(args: argparse.Namespace, names: tuple[str, ...], context: str) -> None:
    """Options of another mode of the command, given here: refused, naming them."""
    given = ["--" + name.replace("_", "-") for name in names if getattr(args, name, None) is not None]
    if given:
        raise ValueError(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply {context}.")
