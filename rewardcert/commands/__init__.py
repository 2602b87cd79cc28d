"""Command registry and the helpers every ``rewardcert`` command shares."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Sequence

from rewardcert.symbolic.core.errors import ModelError
from rewardcert.symbolic.core.numbers import as_fraction_arg

from ..engine import check_out_argument, check_parameters, check_stdin_once  # noqa: F401  (for the commands)

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


SCHEMA_VERSION = 1
"""The version of every ``--json`` document's schema (``docs/json-schema/COMMAND.json``); a change
that removes or retypes a key raises it, and the old key stays one release as a deprecated alias."""


def schema_name(command: str) -> str:
    return f"rewardcert/{command}-{SCHEMA_VERSION}"


def print_json(document: Any, schema: str) -> None:
    """``document`` as one JSON object on standard output, its first key ``schema`` naming
    ``docs/json-schema/<schema>.json`` and its version."""
    json.dump({"schema": schema_name(schema), **document}, sys.stdout, indent=2, ensure_ascii=False)
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


def policy_text(mdp, policy) -> str:
    return " ".join(f"{s}={a}" for s, a in mdp.policy_to_mapping(policy).items())


BRIEF_STATES = 12


def policy_brief(mdp, policy, *, limit: int = BRIEF_STATES) -> str:
    """``policy_text`` for at most ``limit`` states, then how many more (``--json`` lists all)."""
    items = list(mdp.policy_to_mapping(policy).items())
    if len(items) <= limit:
        return " ".join(f"{s}={a}" for s, a in items)
    shown = " ".join(f"{s}={a}" for s, a in items[:limit])
    return f"{shown} ... ({len(items) - limit} more states; --json lists all)"


def policy_count_text(mdp) -> str:
    """The number of deterministic policies, short: ``64`` or ``4^16 ≈ 4.3e9``."""
    from rewardcert.symbolic.core.numbers import approximate, power_text
    count = mdp.n_deterministic_policies
    if count == mdp.n_actions ** mdp.n_states:
        return power_text(mdp.n_actions, mdp.n_states)
    return str(count) if count < 10 ** 6 else f"≈ {approximate(count, 2)}"


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> list[str]:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row):
        return "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]


def plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


# -- -o/--out and the budgets' reports ---------------------------------------------------

def add_out_argument(p: argparse.ArgumentParser, *, metavar: str = "CERT",
                     help: str = "write the certificate (JSON) here ('-': standard output, and the "
                                 "report goes to standard error); an existing file is replaced "
                                 "atomically, a missing directory is an error") -> None:
    p.add_argument("-o", "--out", metavar=metavar, help=help)


def budget_reason(args: argparse.Namespace, result) -> str:
    """Which limit stopped an incomplete search, as the flag that sets it."""
    interrupts = getattr(args, "interrupts", None)
    if interrupts is not None and interrupts.stop_requested():
        return interrupts.name
    if getattr(result, "stop_reason", None) == "memory":
        return "the search's memory budget for its closures ran out"
    max_nodes = getattr(args, "max_nodes", None)
    if max_nodes is not None and result.stats.nodes >= max_nodes:
        return f"--max-nodes {max_nodes} ran out"
    timeout = getattr(args, "timeout", None)
    if timeout is not None:
        return f"--timeout {timeout:g} ran out"
    return "the search stopped early"


def budget_hint(args: argparse.Namespace, result) -> str:
    """What to do about it: name the flag that ran out."""
    interrupts = getattr(args, "interrupts", None)
    if interrupts is not None and interrupts.stop_requested():
        return "the search was interrupted; rerun to let it finish"
    if getattr(result, "stop_reason", None) == "memory":
        return "the model is too large to finish within the closures' memory budget (rewardcert.symbolic.search.options.MAX_CLOSURE_BYTES)"
    max_nodes = getattr(args, "max_nodes", None)
    if max_nodes is not None and result.stats.nodes >= max_nodes:
        return "raise --max-nodes"
    return "raise --timeout"


def search_exit_status(args: argparse.Namespace, otherwise: int) -> int:
    """130/143 after an interrupt that stopped the search (the answer known so far was printed)."""
    interrupts = getattr(args, "interrupts", None)
    if interrupts is not None and interrupts.stop_requested():
        return interrupts.exit_status
    return otherwise
