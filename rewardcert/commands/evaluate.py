"""``rewardcert evaluate``: exact returns, J*, J^min, and every policy's regret when few."""

from __future__ import annotations

import argparse

from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.numbers import format_rational, with_decimal
from rewardcert.symbolic.exact.evaluation import enumerate_policies
from rewardcert.symbolic.guidance.floatvi import return_bounds

from ..progress import ProgressBar
from . import (
    EXIT_OK,
    command,
    plural,
    policy_brief,
    policy_count_text,
    policy_text,
    print_json,
    table,
)

LIST_POLICIES_UP_TO = 64
SUMMARY_CHARS = 60          # longer exact values are summarised by their decimal (--json has them)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL",
                   help="model file (TOML or JSON, format rewardcert/mdp-1); '-' reads standard input")
    p.add_argument("--json", action="store_true", help="print one JSON object")


@command("evaluate", "exact returns, J*, J^min and regrets of a model", configure)
def run(args: argparse.Namespace) -> int:
    loaded = load_model(args.model)
    mdp = loaded.mdp
    bounds = return_bounds(mdp)
    listed = mdp.n_deterministic_policies <= LIST_POLICIES_UP_TO
    evaluations = list(enumerate_policies(mdp, bounds, progress=ProgressBar("policies"))) if listed else []
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
            "deterministic_policies": _policy_count(mdp),
        }
        if listed:
            document["policies"] = [
                {"policy": mdp.policy_to_mapping(e.policy), "return": format_rational(e.expected_return),
                 "regret": format_rational(e.regret)} for e in evaluations]
        print_json(document, "evaluate")
        return EXIT_OK
    kind = "contextual bandit" if mdp.is_bandit else "MDP"
    brief = lambda v: with_decimal(v, longest=SUMMARY_CHARS)
    out = [f"{mdp.name or loaded.path}: {kind}, {plural(len(mdp.states), 'state')} x "
           f"{plural(len(mdp.actions), 'action')}, {policy_count_text(mdp)} deterministic "
           + ("policy" if mdp.n_deterministic_policies == 1 else "policies"),
           f"gamma     {brief(mdp.gamma)}",
           f"range R   {brief(mdp.range_reward)}",
           f"J*        {brief(bounds.optimal_return)}   (uniformly optimal: "
           f"{policy_brief(mdp, bounds.optimal_policy)})",
           f"J^min     {brief(bounds.pessimal_return)}   (uniformly pessimal: "
           f"{policy_brief(mdp, bounds.pessimal_policy)})",
           f"range J   {brief(bounds.range)}"]
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


def _policy_count(mdp):
    """``|A|^|S|``, written as a power once it is too long to read (or for Python to print: 4300 digits)."""
    count = mdp.n_deterministic_policies
    if count < 10 ** 30:
        return count
    return f"{len(mdp.actions)}^{len(mdp.states)}"
