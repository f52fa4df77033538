"""edgexai.core.options: one declaration gives the argparse option and the dataclass back."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from edgexai.core.options import add_options, cli_fields, flag_for, from_args, opt


@dataclass(frozen=True)
class Toy:
    images: int = opt(200, "images drawn")
    methods: tuple[str, ...] = opt(("vg", "cam"), "methods", type=lambda s: s.split(","))
    road: bool = opt(True, "run ROAD")
    fresh: bool = opt(False, "recompute")
    mode: str = opt("a", "mode", choices=("a", "b"), group="modes")
    internal: str = ""  # not an option


def parse(*argv: str, **kw) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_options(p, Toy, **kw)
    return p.parse_args(list(argv))


def test_defaults_round_trip():
    assert from_args(Toy, parse()) == Toy()


def test_flags_and_values():
    t = from_args(
        Toy,
        parse("--images", "5", "--methods", "ig,sg", "--no-road", "--fresh", "--mode", "b"),
        internal="x",
    )
    assert t == Toy(images=5, methods=("ig", "sg"), road=False, fresh=True, mode="b", internal="x")
    assert isinstance(t.methods, tuple)


def test_generated_names_and_groups():
    names = {f.name: flag_for(f) for f in cli_fields(Toy)}
    assert names == {
        "images": "--images",
        "methods": "--methods",
        "road": "--no-road",
        "fresh": "--fresh",
        "mode": "--mode",
    }
    with pytest.raises(SystemExit):
        parse("--mode", "c")


def test_exclude_and_command_defaults():
    ns = parse(exclude=("mode",), defaults={"images": 7})
    assert not hasattr(ns, "mode") and ns.images == 7
    assert from_args(Toy, ns).mode == "a"
