"""Command registry and the helpers every ``rewardcert`` command shares."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Sequence

from symbolic.errors import ModelError
from symbolic.numbers import as_fraction_arg, format_rational

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


# -- the arguments most commands share, declared and checked in one place ----------------

def add_model_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="model file (TOML or JSON, format rewardcert/mdp-1)")


def add_data_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="DATA",
                   help="data distribution: a rewardcert/data-1 file or 'uniform' "
                        "(default: the model's own [data] table)")


def add_epsilon_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epsilon", required=True, type=rational_arg("--epsilon"), metavar="E",
                   help="error bound eps > 0, exact (e.g. 1/5 or 0.2)")


def add_regret_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--regret", required=True, type=rational_arg("--regret"), metavar="L",
                   help="regret bound L with 0 < L <= 1, exact")


def add_json_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")


def check_parameters(args: argparse.Namespace) -> None:
    """Range checks shared by every command: ``0 < L <= 1``, ``eps > 0``, a positive ``--timeout``."""
    regret = getattr(args, "regret", None)
    if regret is not None and not (0 < regret <= 1):
        raise ModelError(f"L = {format_rational(regret)} must satisfy 0 < L <= 1", entry="--regret")
    epsilon = getattr(args, "epsilon", None)
    if epsilon is not None and epsilon <= 0:
        raise ModelError(f"epsilon = {format_rational(epsilon)} must be > 0", entry="--epsilon")
    lam = getattr(args, "lam", None)
    if lam is not None and lam <= 0:
        raise ModelError(f"lambda = {format_rational(lam)} must be > 0", entry="--lambda")
    if getattr(args, "reference", None) is not None and lam is None:
        raise ModelError("--reference needs --lambda (it is the KL reference policy)", entry="--reference")
    timeout = getattr(args, "timeout", None)
    if timeout is not None and timeout <= 0:
        raise ModelError("must be a positive number of seconds", entry="--timeout")


def load_instance(args: argparse.Namespace):
    """The model file, the data distribution (``--data``) and checked parameters."""
    from symbolic.io import load_model, resolve_data
    check_parameters(args)
    loaded = load_model(args.model)
    return loaded, resolve_data(getattr(args, "data", None), loaded)


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
