"""``certify`` and ``threshold`` with ``--lambda``: the regularised, three-valued verdicts (docs/regularised.md)."""

from __future__ import annotations

import argparse
import sys

from rewardcert.symbolic.core.numbers import approximate, format_rational
from rewardcert.symbolic.core.results import Verdict

from ..certificates import not_replayed
from ..engine import load_instance, regularised_search, write_regularised_certificate
from . import (
    EXIT_OK,
    EXIT_UNKNOWN,
    EXIT_UNSAFE,
    print_json,
    rational_arg,
    search_exit_status,
    table,
)


def add_regularisation_arguments(p: argparse.ArgumentParser) -> None:
    from .sweep import sweep_arg
    sweeps = p.prog.split()[-1] in ("certify", "threshold")
    p.add_argument("--lambda", dest="lam", type=sweep_arg("--lambda") if sweeps else rational_arg("--lambda"),
                   metavar="LAM", help="KL-regularisation strength lambda > 0, exact; the verdict becomes "
                   "three-valued (safe, unsafe, unknown with a verified interval)"
                   + ("; a list or START:STEP:STOP sweeps it" if sweeps else ""))
    p.add_argument("--reference", metavar="REF",
                   help="with --lambda: the reference policy, a rewardcert/policy-1 file or 'uniform' (default)")
    if p.prog.split()[-1] in ("certify", "threshold"):
        p.add_argument("--error", choices=("absolute", "preference", "squared"), default="absolute",
                       help="P1's error measure: 'absolute' E_D|R^-R| (default); 'preference', the "
                            "Bradley-Terry KL of Def C.27 on D^ref (bandits, with --lambda and --data reference); "
                            "or 'squared', App. B.3's E_D[(R^-R)^2] <= eps range R^2 (lambda = 0, exact)")





def _progress(message: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{message[:100]:<100}")
        sys.stderr.flush()


def _interrupted_note(args) -> list[str]:
    interrupts = getattr(args, "interrupts", None)
    if interrupts is not None and interrupts.stop_requested():
        return [f"search {interrupts.name}: the interval above is what was proved before it stopped"]
    return []


def _interval(result) -> dict:
    return {"lower": format_rational(result.lower),
            "upper": None if result.upper is None else format_rational(result.upper)}


def _interval_text(result) -> str:
    upper = "inf (no witness found)" if result.upper is None else \
        f"{format_rational(result.upper)} (~ {approximate(result.upper)})"
    return f"[{format_rational(result.lower)} (~ {approximate(result.lower)}), {upper}]"


def _witness_json(mdp, result) -> dict | None:
    w = result.witness
    if w is None:
        return None
    return {"reward": mdp.pair_table(w.reward), "error": format_rational(w.error),
            "regret": w.regret.as_json(), "found_by": w.kind,
            "policy": {s: {a: {"lower": format_rational(w.optimum.policy_lower[i * mdp.n_actions + j]),
                               "upper": format_rational(w.optimum.policy_upper[i * mdp.n_actions + j])}
                           for j, a in enumerate(mdp.actions)} for i, s in enumerate(mdp.states)}}


def _witness_lines(mdp, data, result) -> list[str]:
    w = result.witness
    rows = []
    for x in range(mdp.n_pairs):
        state, action = mdp.pair_name(x)
        r, rh = mdp.reward[x], w.reward[x]
        pi = (w.optimum.policy_lower[x] + w.optimum.policy_upper[x]) / 2
        rows.append((state, action, format_rational(r), approximate(rh, 6) if rh != r else format_rational(rh),
                     format_rational(data[x]), approximate(pi, 4)))
    return (table(rows, ("state", "action", "R", "R^", "D", "pi^(a|s)"))
            + [f"regularised optimum's regret under R: in {w.regret.text(12)} (>= L, rigorous; "
               "exact R^ in --json and the certificate)",
               (f"preference error E KL(p_R || p_R^) / range R <= {format_rational(w.error)} (~ {approximate(w.error)}, "
                "a rigorous upper bound)" if result.error_measure == "preference" else
                f"error E_D|R^-R| / range R = {format_rational(w.error)} (~ {approximate(w.error)})")
               + f", found by: {w.kind}"])


def _stop_text(result) -> str:
    """Why the box search stopped without deciding."""
    if result.stats.get("stop_reason") == "depth":
        from rewardcert.symbolic.regularised.boxes import MAX_BOX_DEPTH
        return (f"the box search reached its depth limit ({MAX_BOX_DEPTH} nested splits) on the box nearest R; "
                "more time would not help")
    return "the search ran out of time (raise --timeout)"


def _header(mdp, loaded, args, epsilon) -> str:
    eps = f"epsilon = {format_rational(epsilon)}, " if epsilon is not None else ""
    ref = args.reference or "uniform"
    measure = ("preference error (Def C.27) on D^ref" if args.error == "preference" else
               "absolute error on D^ref" if args.data == "reference" else "absolute error")
    return (f"{mdp.name or loaded.path}: {eps}L = {format_rational(args.regret)}, "
            f"lambda = {format_rational(args.lam)}, reference = {ref}, {measure} (KL-regularised, docs/theory.md §5)")





def _certificate_line(path: str, replayed: bool) -> str:
    return f"certificate: {path} (verified by proofs/checker.py)" if replayed else \
        f"certificate: {path} ({not_replayed(path)})"





def run_certify(args: argparse.Namespace) -> int:
    instance = load_instance(args)
    mdp, data, loaded = instance.mdp, instance.data, instance.loaded
    result = regularised_search(args, instance, args.epsilon, progress=_progress)
    verdict = result.verdict(args.epsilon)
    path, replayed = write_regularised_certificate(args, instance, result, args.epsilon)
    if args.json:
        print_json({"model": mdp.name or loaded.path, "verdict": verdict.value,
                    "epsilon": format_rational(args.epsilon), "regret_bound": format_rational(args.regret),
                    "lambda": format_rational(args.lam), "reference": args.reference or "uniform",
                    "critical_epsilon": None, "interval": _interval(result), "complete": result.complete,
                    "critical_error": _interval(result),          # deprecated: "interval"
                    "witness": _witness_json(mdp, result) if verdict is Verdict.UNSAFE else None,
                    "certificate": path, "certificate_replayed": replayed if path else None}, "certify")
    else:
        if verdict is Verdict.UNSAFE:
            bound = (f"regularised critical error eps*_lambda(D) <= {approximate(result.upper)} "
                     f"(= {format_rational(result.upper)}, the error of the verified witness below)")
        else:
            bound = f"regularised critical error eps*_lambda(D) in {_interval_text(result)}"
        out = [_header(mdp, loaded, args, args.epsilon), bound]
        if verdict is Verdict.SAFE:
            out.append("verdict: SAFE - every reward model within error epsilon on D gives a regularised "
                       "optimum with regret < L (rigorous enclosures)")
        elif verdict is Verdict.UNSAFE:
            out.append("verdict: UNSAFE - this reward model is within error epsilon on D, and its "
                       "regularised optimum has regret >= L:")
            out += ["  " + line for line in _witness_lines(mdp, data, result)]
        else:
            reason = ("D gives zero mass to some pair, so the reward models are unbounded there"
                      if result.error_measure != "preference" and any(d == 0 for d in data)
                      else _stop_text(result))
            out.append(f"verdict: UNKNOWN - neither side was proved: {reason}")
        if path:
            out.append(_certificate_line(path, replayed))
        elif args.out:
            out.append("no certificate written: the verdict is unknown")
        print("\n".join(out))
    return _status(args, {Verdict.SAFE: EXIT_OK, Verdict.UNSAFE: EXIT_UNSAFE, Verdict.UNKNOWN: EXIT_UNKNOWN}[verdict])


def _status(args, code: int) -> int:
    """An interrupted search still reports what it proved, then exits 130 (143 for SIGTERM)."""
    for line in _interrupted_note(args):
        print(line, file=sys.stderr)
    return search_exit_status(args, code)


def run_threshold(args: argparse.Namespace) -> int:
    instance = load_instance(args)
    mdp, data, loaded = instance.mdp, instance.data, instance.loaded
    result = regularised_search(args, instance, progress=_progress)
    path, replayed = write_regularised_certificate(args, instance, result, None)
    if args.json:
        print_json({"model": mdp.name or loaded.path, "regret_bound": format_rational(args.regret),
                    "lambda": format_rational(args.lam), "reference": args.reference or "uniform",
                    "critical_epsilon": None, "interval": _interval(result), "complete": result.complete,
                    "critical_error": _interval(result),          # deprecated: "interval"
                    "witness": _witness_json(mdp, result), "certificate": path,
                    "certificate_replayed": replayed if path else None}, "threshold")
    else:
        out = [_header(mdp, loaded, args, None),
               f"regularised critical error eps*_lambda(D) in {_interval_text(result)}"]
        if result.upper is not None and result.upper:
            width = (result.upper - result.lower) / result.upper
            out.append(f"relative width (upper - lower) / upper = {approximate(width)}"
                       + ("" if result.complete else " (not narrowed to 1%: raise --timeout)"))
        if not result.complete and result.stats.get("stop_reason") == "depth":
            out.append(f"lower end not raised further: {_stop_text(result)}")
        if result.lower == 0 and result.error_measure == "preference" and result.upper != 0:
            out.append("lower end 0: the box search did not close the box around R in time (raise --timeout)")
        elif result.lower == 0 and any(d == 0 for d in data) and result.upper != 0:
            out.append("lower end 0: D gives zero mass to some pair, where reward models are unbounded")
        if result.witness is not None:
            out.append("cheapest verified witness:")
            out += ["  " + line for line in _witness_lines(mdp, data, result)]
        if path:
            out.append(_certificate_line(path, replayed))
        print("\n".join(out))
    return _status(args, EXIT_OK if result.complete else EXIT_UNKNOWN)
