"""``certify`` and ``threshold`` with ``--error squared``: App. B.3's mean-squared error at λ = 0,
exact and certified (docs/theory.md §3a)."""

from __future__ import annotations

import argparse

from rewardcert.symbolic.core.errors import ModelError
from rewardcert.symbolic.core.numbers import format_epsilon, format_rational, with_decimal
from rewardcert.symbolic.core.results import Verdict

from ..certificates import not_replayed, squared_certificate
from ..engine import load_instance, squared_search, write_certificate
from . import EXIT_OK, EXIT_UNKNOWN, EXIT_UNSAFE, print_json, search_exit_status, table


def _load(args: argparse.Namespace):
    if args.lam is not None:
        raise ModelError("--error squared is App. B.3's error at lambda = 0; with --lambda, theorems --error "
                         "squared checks Theorem 4.2's MSE version", entry="--error")
    if args.data == "reference":
        raise ModelError("--data reference belongs to the RLHF questions (--lambda)", entry="--data")
    for flag in ("jobs", "max_nodes"):
        value = getattr(args, flag, None)
        if value not in (None, 1):
            raise ModelError(f"--{flag.replace('_', '-')} belongs to the absolute error's search; --error squared "
                             "enumerates the policies", entry=f"--{flag.replace('_', '-')}")
    return load_instance(args)


def _run(args: argparse.Namespace):
    from rewardcert.symbolic.search.squared import SquaredUnsettled
    instance = _load(args)
    try:
        return instance, squared_search(args, instance), None
    except SquaredUnsettled as exc:
        return instance, None, exc.message


def _witness(mdp, data, result) -> tuple[dict, list[str]]:
    w = result.witness
    regret = result.bounds.regret_of_return(_return(mdp, w.policy))
    doc = {"reward": mdp.pair_table(w.reward), "policy": mdp.policy_to_mapping(w.policy),
           "error": format_rational(w.error(result.range_reward)), "regret": format_rational(regret),
           "multipliers": mdp.pair_table(w.multipliers)}
    rows = [(*mdp.pair_name(x), format_rational(mdp.reward[x]), format_rational(w.reward[x]),
             format_rational(data[x]), format_rational(w.multipliers[x]))
            for x in mdp.enabled_pairs if w.reward[x] != mdp.reward[x] or mdp.n_pairs <= 20]
    lines = table(rows, ("state", "action", "R", "R^", "D", "y = D (R - R^)"))
    lines += [f"optimal for R^: {' '.join(f'{s}={a}' for s, a in mdp.policy_to_mapping(w.policy).items())}   "
              f"regret under R: {with_decimal(regret)}",
              f"error E_D[(R^-R)^2] / range R^2 = {with_decimal(w.error(result.range_reward))} (exact: the least over "
              "every policy of regret >= L, each a convex QP settled by its KKT point)"]
    return doc, lines


def _return(mdp, policy):
    from rewardcert.symbolic.exact.evaluation import expected_return
    return expected_return(mdp, policy)


def _certificate(args, instance, result, epsilon) -> tuple[str | None, bool]:
    if not args.out or result is None:
        return None, True
    return args.out, write_certificate(args, squared_certificate(instance.mdp, instance.data, args.regret, result,
                                                                 epsilon))


def _footer(path, replayed, result) -> list[str]:
    lines = []
    if path:
        lines.append(f"certificate: {'standard output' if path == '-' else path} "
                     + ("(verified by proofs/checker.py)" if replayed else f"({not_replayed(path)})"))
    if result is not None:
        lines.append(f"policies: {result.policies} enumerated, {len(result.optima)} of regret >= L, each with an "
                     "exact KKT point")
    return lines


def run_certify(args: argparse.Namespace) -> int:
    instance, result, unsettled = _run(args)
    mdp, data = instance.mdp, instance.data
    verdict = Verdict.UNKNOWN if result is None else result.verdict(args.epsilon)
    path, replayed = _certificate(args, instance, result, args.epsilon)
    witness = _witness(mdp, data, result) if verdict is Verdict.UNSAFE else (None, [])
    if args.json:
        print_json({"model": instance.name, "verdict": verdict.value, "error_measure": "squared",
                    "epsilon": format_rational(args.epsilon), "regret_bound": format_rational(args.regret),
                    "critical_epsilon": None if result is None else format_epsilon(result.critical_epsilon),
                    "witness": witness[0], "certificate": path, "certificate_replayed": replayed if path else None,
                    "unknown_because": unsettled}, "certify-squared")
    else:
        out = [f"{instance.name}: epsilon = {format_rational(args.epsilon)}, L = {format_rational(args.regret)}, "
               "mean-squared error E_D[(R^-R)^2] <= eps range R^2 (App. B.3)"]
        if result is None:
            out.append(f"verdict: UNKNOWN - {unsettled}")
        else:
            out.append(f"critical error eps*_MSE(D) = {with_decimal(result.critical_epsilon)}"
                       if result.critical_epsilon is not None else
                       "no policy has regret >= L, so D is safe for every epsilon")
            if verdict is Verdict.SAFE:
                out.append("verdict: SAFE - every reward model within squared error epsilon on D leads to regret < L")
            else:
                out.append("verdict: UNSAFE - this reward model is within squared error epsilon on D, and its "
                           "optimal policy has regret >= L:")
                out += ["  " + line for line in witness[1]]
        print("\n".join(out + _footer(path, replayed, result)))
    return search_exit_status(args, {Verdict.SAFE: EXIT_OK, Verdict.UNSAFE: EXIT_UNSAFE,
                                     Verdict.UNKNOWN: EXIT_UNKNOWN}[verdict])


def run_threshold(args: argparse.Namespace) -> int:
    instance, result, unsettled = _run(args)
    mdp, data = instance.mdp, instance.data
    path, replayed = _certificate(args, instance, result, None)
    witness = _witness(mdp, data, result) if result is not None and result.witness is not None else (None, [])
    if args.json:
        print_json({"model": instance.name, "error_measure": "squared", "regret_bound": format_rational(args.regret),
                    "critical_epsilon": None if result is None else format_epsilon(result.critical_epsilon),
                    "complete": result is not None, "witness": witness[0],
                    "policies_high_regret": None if result is None else len(result.optima),
                    "certificate": path, "certificate_replayed": replayed if path else None,
                    "unknown_because": unsettled}, "threshold-squared")
    else:
        out = [f"{instance.name}: L = {format_rational(args.regret)}, mean-squared error (App. B.3)"]
        if result is None:
            out.append(f"undecided: {unsettled}")
        elif result.critical_epsilon is None:
            out.append("no policy has regret >= L, so D is safe for every epsilon")
        else:
            out += [f"critical error eps*_MSE(D) = {with_decimal(result.critical_epsilon)}",
                    f"D is safe exactly for epsilon < {format_rational(result.critical_epsilon)}; at eps*_MSE(D) this "
                    "reward model already breaks it:"]
            out += ["  " + line for line in witness[1]]
        print("\n".join(out + _footer(path, replayed, result)))
    return search_exit_status(args, EXIT_UNKNOWN if result is None else EXIT_OK)
