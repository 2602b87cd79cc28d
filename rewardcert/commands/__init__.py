"""Command registry and the helpers every ``rewardcert`` command shares."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Sequence

from symbolic.errors import ModelError
from symbolic.numbers import as_fraction_arg

EXIT_OK, EXIT_UNSAFE, EXIT_BAD_INPUT, EXIT_UNKNOWN, EXIT_DISAGREEMENT = 0, 1, 2, 3, 4
EXIT_INTERNAL = 70


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


REGISTRY: list[Command] = []


def command(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Register ``run(args) -> exit status`` as ``rewardcert NAME``."""
    def register(run):
        REGISTRY.append(Command(name, help, configure, run))
        return run
    return register


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def rational_arg(name: str):
    """argparse type for an exact rational (``1/5``, ``0.2``); floats are read as exact decimals."""
    def convert(text: str) -> Fraction:
        try:
            return as_fraction_arg(text, name=name)
        except ModelError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None
    return convert


def policy_text(mdp, policy) -> str:
    return " ".join(f"{s}={a}" for s, a in mdp.policy_to_mapping(policy).items())


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> list[str]:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row):
        return "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]


def plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"
