"""``rewardcert measures``: both sides of the paper's Props 5.1-5.3 for a policy and an estimate."""

from __future__ import annotations

import argparse

from rewardcert.symbolic.core.errors import RewardcertError
from rewardcert.symbolic.core.numbers import approximate, format_rational

from . import (
    EXIT_DISAGREEMENT,
    EXIT_OK,
    add_json_argument,
    add_model_argument,
    command,
    print_json,
    table,
)


def configure(p: argparse.ArgumentParser) -> None:
    add_model_argument(p)
    p.add_argument("--policy", required=True, metavar="POL", help="the data-sampling policy, a rewardcert/policy-1 file")
    p.add_argument("--estimate", required=True, metavar="RHAT",
                   help="a model file whose reward is the estimate R^ (states, actions and dynamics must match)")
    p.add_argument("--horizon", required=True, type=int, metavar="T", help="the horizon T >= 1")
    add_json_argument(p)


def _side(value) -> str:
    from rewardcert.symbolic.rigorous.enclosures import Enclosure
    if isinstance(value, Enclosure):
        return f"in [{approximate(value.lower)}, {approximate(value.upper)}]"
    return f"{format_rational(value)} (~ {approximate(value)})"


def _step_json(step) -> dict | None:
    if step is None:
        return None
    return {"x": format_rational(step.x), "y": format_rational(step.y), "step_65": step.step_65.as_json(),
            "step_66": step.step_66.as_json(), "fails": step.fails, "pairs_searched": step.pairs}


def _step_lines(step) -> list[str]:
    """Prop C.25's proof step (docs/errata.md): an invalid step, not a failed statement."""
    if step is None:
        return []
    where = f"at the pair of trajectories with x = {format_rational(step.x)}, y = {format_rational(step.y)}"
    if step.fails:
        return [f"Prop C.25's proof (Prop 5.2), step (65) <= (66): INVALID {where}: (65) in "
                f"[{approximate(step.step_65.lower)}, {approximate(step.step_65.upper)}] > (66) in "
                f"[{approximate(step.step_66.lower)}, {approximate(step.step_66.upper)}] (a proof step, not the "
                "statement, which is checked above; docs/errata.md)"]
    return [f"Prop C.25's proof, step (65) <= (66): holds at its worst pair of the {step.pairs} searched ({where})"]


@command("measures", "both sides of the paper's Props 5.1-5.3 (trajectory and preference errors) "
         "for a policy, an estimate R^ and a horizon (exit 4 if one is contradicted)", configure)
def run(args: argparse.Namespace) -> int:
    from rewardcert.symbolic.core.io import load_model
    from rewardcert.symbolic.core.policyfile import load_policy
    from rewardcert.symbolic.paper.measures import check_estimate, error_measures
    loaded = load_model(args.model)
    estimate = load_model(args.estimate)
    try:
        check_estimate(loaded.mdp, estimate.mdp)
    except RewardcertError as exc:
        raise exc.located(file=args.estimate) from None
    policy = load_policy(args.policy, loaded.mdp)
    report = error_measures(loaded.mdp, policy, estimate.mdp.reward, args.horizon, proof_step=True)
    props = (("Prop 5.1", "E|G_R - G_R^| <= (1-g^T)/(1-g) E_{D^pi}|R - R^|", report.prop_5_1),
             ("Prop 5.2", "E KL over trajectory pairs <= 2 E|G_R - G_R^|", report.prop_5_2),
             ("Prop 5.3", "E KL with a shared start state <= Prop 5.2's left / min mu0", report.prop_5_3))
    if args.json:
        print_json({"model": loaded.mdp.name or loaded.path, "horizon": args.horizon,
                    "return_support": report.support,
                    "prop_5_1": report.prop_5_1.as_json(), "prop_5_2": report.prop_5_2.as_json(),
                    "prop_5_3": report.prop_5_3.as_json(), "proof_step_c25": _step_json(report.proof_step)}, "measures")
    else:
        mark = {True: "yes", False: "NO", None: "undecided"}
        rows = [(name, _side(p.left), _side(p.right), mark[p.holds]) for name, _, p in props]
        out = [f"{loaded.mdp.name or loaded.path}: T = {args.horizon}, "
               f"{report.support} distinct (G_R, G_R^) values (exact dynamic programme)"]
        out += table(rows, ("result", "left", "right", "holds"))
        out += [f"  {name}: {text}" for name, text, _ in props]
        out += _step_lines(report.proof_step)
        if report.contradicted:
            out.append("CONTRADICTED: an inequality of the paper fails on this instance")
        print("\n".join(out))
    return EXIT_DISAGREEMENT if report.contradicted else EXIT_OK

