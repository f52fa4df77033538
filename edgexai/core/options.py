"""Command-line options declared once, on the options dataclass that the code uses.

A field made with `opt(default, "help", ...)` carries its flag's help, type and choices; the
command's argparse is generated from the dataclass (`add_options`) and the dataclass is built back
from the parsed namespace (`from_args`), so a default or a help text is written in one place.
Stdlib only: deployment-side commands use it too.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

_KEY = "edgexai.cli"


def opt(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    factory: Callable | None = None,
    type: Callable | None = None,
    choices: Iterable | None = None,
    metavar: str | None = None,
    flag: str | None = None,
    group: str | None = None,
    nargs: str | None = None,
    const: Any = None,
    action: str | None = None,
    aliases: tuple[str, ...] = (),
) -> Any:
    """A dataclass field that is also a command-line option.

    Booleans become switches: default False → `--name`; default True → `--no-name`. `flag`
    overrides the generated name (`aliases` are accepted too, e.g. a former name); `group` puts
    the option in a titled argparse group.
    """
    cli = {
        "help": help,
        "type": type,
        "choices": tuple(choices) if choices else None,
        "metavar": metavar,
        "flag": flag,
        "group": group,
        "nargs": nargs,
        "const": const,
        "action": action,
        "aliases": tuple(aliases),
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={_KEY: cli})
    return dataclasses.field(default=default, metadata={_KEY: cli})


def cli_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of `cls` that are command-line options, in declaration order."""
    return [f for f in dataclasses.fields(cls) if _KEY in f.metadata]


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def flag_for(f: dataclasses.Field) -> str:
    """The option string of a field (`images` → `--images`, a True bool → `--no-progress`)."""
    cli = f.metadata[_KEY]
    if cli["flag"]:
        return cli["flag"]
    name = f.name.replace("_", "-")
    return f"--no-{name}" if _default(f) is True and cli["action"] is None else f"--{name}"


def add_options(
    parser: argparse.ArgumentParser | Any,
    cls: type,
    *,
    exclude: Iterable[str] = (),
    defaults: dict[str, Any] | None = None,
) -> None:
    """Add one argparse option per `opt` field of `cls` (skipping `exclude`).

    `defaults` overrides a field's default for this command only (the help shows it).
    """
    skip = set(exclude)
    groups: dict[str, Any] = {}
    for f in cli_fields(cls):
        if f.name in skip:
            continue
        cli = f.metadata[_KEY]
        target = parser
        if cli["group"]:
            if cli["group"] not in groups:
                groups[cli["group"]] = parser.add_argument_group(cli["group"])
            target = groups[cli["group"]]
        default = (defaults or {}).get(f.name, _default(f))
        kwargs: dict[str, Any] = {"dest": f.name, "help": cli["help"]}
        if isinstance(default, bool) and cli["action"] is None and cli["nargs"] is None:
            kwargs["action"] = "store_false" if default else "store_true"
            kwargs["default"] = default
        else:
            kwargs["default"] = default
            for key in ("type", "choices", "metavar", "nargs", "action"):
                if cli[key] is not None:
                    kwargs[key] = cli[key]
            if cli["const"] is not None:
                kwargs["const"] = cli["const"]
            if "type" not in kwargs and type(default) in (int, float) and cli["action"] is None:
                kwargs["type"] = type(default)  # a plain number option parses as its default
        target.add_argument(flag_for(f), *cli["aliases"], **kwargs)


def from_args(cls: type, args: argparse.Namespace, **extra: Any) -> Any:
    """Build `cls` from a namespace made by `add_options` (fields it lacks keep their default)."""
    kwargs: dict[str, Any] = {}
    for f in cli_fields(cls):
        if f.name in extra or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        if isinstance(_default(f), tuple) and isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    kwargs.update(extra)
    return cls(**kwargs)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """The commands' help formatter: "(default: X)" only where it says something (not for
    switches, None, or a default the help already states); an epilog that starts with
    `examples:` keeps its lines as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            action.default is None
            or isinstance(action.default, bool)
            or action.default is argparse.SUPPRESS
            or "default" in text
        ):
            return text
        return super()._get_help_string(action)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)
