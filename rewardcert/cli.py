"""The ``rewardcert`` command.

Exit statuses: 0 success / safe / verified, 1 unsafe / rejected, 2 bad input,
3 unknown (a budget ran out), 4 a theorem's conclusion disagrees with the
exact truth.  Bad input never prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from typing import Any, Callable, Sequence

from symbolic.errors import ModelError, RewardcertError
from symbolic.evaluation import enumerate_policies, return_bounds
from symbolic.io import LoadedModel, load_model
from symbolic.numbers import as_fraction_arg, format_rational

from .progress import ProgressBar

EXIT_OK, EXIT_UNSAFE, EXIT_BAD_INPUT, EXIT_UNKNOWN, EXIT_DISAGREEMENT = 0, 1, 2, 3, 4
LIST_POLICIES_UP_TO = 64

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    def register(function):
        COMMANDS[name] = function
        return function
    return register


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def rational_arg(name: str):
    """argparse type for an exact rational (``"1/5"``, ``"0.2"``), refusing nothing silently."""
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
    line = lambda row: "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()
    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]


# -- evaluate -------------------------------------------------------------------

@command("evaluate")
def cmd_evaluate(args: argparse.Namespace) -> int:
    loaded: LoadedModel = load_model(args.model)
    mdp = loaded.mdp
    bounds = return_bounds(mdp)
    listed = mdp.n_deterministic_policies <= LIST_POLICIES_UP_TO
    evaluations = list(enumerate_policies(mdp, bounds)) if listed else []
    if args.json:
        document = {
            "model": mdp.name or loaded.path,
            "states": len(mdp.states),
            "actions": len(mdp.actions),
            "gamma": format_rational(mdp.gamma),
            "range_reward": format_rational(mdp.range_reward),
            "optimal_return": format_rational(bounds.optimal_return),
            "pessimal_return": format_rational(bounds.pessimal_return),
            "range_return": format_rational(bounds.range),
            "optimal_policy": mdp.policy_to_mapping(bounds.optimal_policy),
            "pessimal_policy": mdp.policy_to_mapping(bounds.pessimal_policy),
            "deterministic_policies": mdp.n_deterministic_policies,
        }
        if listed:
            document["policies"] = [
                {"policy": mdp.policy_to_mapping(e.policy), "return": format_rational(e.expected_return),
                 "regret": format_rational(e.regret)} for e in evaluations]
        print_json(document)
        return EXIT_OK
    kind = "contextual bandit" if mdp.is_bandit else "MDP"
    out = [f"{mdp.name or loaded.path}: {kind}, {len(mdp.states)} states x {len(mdp.actions)} actions, "
           f"{mdp.n_deterministic_policies} deterministic policies",
           f"gamma          {format_rational(mdp.gamma)}",
           f"range R        {format_rational(mdp.range_reward)}",
           f"J*             {format_rational(bounds.optimal_return)}   optimal policy: "
           f"{policy_text(mdp, bounds.optimal_policy)}",
           f"J^min          {format_rational(bounds.pessimal_return)}   pessimal policy: "
           f"{policy_text(mdp, bounds.pessimal_policy)}",
           f"range J        {format_rational(bounds.range)}"]
    if bounds.degenerate:
        out.append("every policy has the same return: regret is 0 for all of them")
    if listed:
        out.append("")
        out += table([(policy_text(mdp, e.policy), format_rational(e.expected_return),
                       format_rational(e.regret)) for e in evaluations], ("policy", "return", "regret"))
    else:
        out.append(f"(policies are listed when there are at most {LIST_POLICIES_UP_TO})")
    print("\n".join(out))
    return EXIT_OK


# -- parser ----------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewardcert",
        description="Exact, certified checks of reward-learning safety on small MDPs.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("evaluate", help="exact returns, J*, J^min and regrets of a model")
    p.add_argument("model", metavar="MODEL", help="model file (TOML or JSON, format rewardcert/mdp-1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    for extend in PARSER_EXTENSIONS:
        extend(sub)
    return parser


PARSER_EXTENSIONS: list[Callable[[Any], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except RewardcertError as exc:
        print(f"rewardcert: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("rewardcert: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: say so plainly, keep the traceback for --debug
        if args.debug:
            raise
        print(f"rewardcert: internal error: {type(exc).__name__}: {exc} "
              "(this is a bug; rerun with --debug for the traceback)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
