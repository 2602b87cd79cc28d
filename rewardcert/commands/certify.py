"""``rewardcert certify``, ``threshold`` and ``check``: exact verdicts with certificates."""

from __future__ import annotations

import argparse
import sys

from rewardcert.symbolic.core.numbers import (
    approximate,
    format_epsilon,
    format_rational,
    with_decimal,
)
from rewardcert.symbolic.core.results import Verdict, Witness
from rewardcert.symbolic.exact.evaluation import expected_return
from rewardcert.symbolic.search.results import ThresholdResult

from ..certificates import CertificateTooLarge, not_replayed, safety_certificate
from ..engine import (
    DECIDE_ONLY_FROM,
    MILP_SEED_FROM,
    MILP_SEED_MIN_SECONDS,
    MILP_SEED_SECONDS,
    exact_search,
    load_instance,
    write_certificate,
    write_threshold_certificate,
)
from ..progress import ProgressBar
from . import (
    EXIT_BAD_INPUT,
    EXIT_DISAGREEMENT,
    EXIT_OK,
    EXIT_UNKNOWN,
    EXIT_UNSAFE,
    add_data_argument,
    add_json_argument,
    add_model_argument,
    add_out_argument,
    budget_hint,
    budget_reason,
    command,
    plural,
    policy_brief,
    print_json,
    search_exit_status,
    table,
)

CHANGED_ONLY_ABOVE = 20     # witness tables longer than this show only the changed rows by default

SMT_CROSS_CHECK_POLICIES = 4 ** 5     # beyond this z3 takes minutes (docs/performance.md)


def cross_check(mdp, data, regret_bound, result: ThresholdResult) -> dict:
    """Other layers' answers beside the exact engine's: z3's exact minimum and the HiGHS MILP."""
    report: dict = {}
    if not result.complete:
        return {"skipped": "the exact search did not finish"}
    if mdp.n_deterministic_policies <= SMT_CROSS_CHECK_POLICIES:
        from rewardcert import smt
        minimum = smt.minimise_error(mdp, data, regret_bound, bounds=result.bounds, timeout_ms=120_000)
        if minimum.verdict is Verdict.UNKNOWN:
            report["smt"] = {"agrees": None, "reason": minimum.reason}
        else:
            report["smt"] = {"critical_epsilon": format_epsilon(minimum.critical_epsilon),
                             "agrees": minimum.critical_epsilon == result.critical_epsilon}
    else:
        report["smt"] = {"agrees": None, "reason": f"more than {SMT_CROSS_CHECK_POLICIES} policies"}
    from rewardcert import lp
    checked = lp.cross_check(mdp, data, regret_bound, result)
    report["lp"] = {"solver": checked.solver, "milp_epsilon": checked.milp_epsilon, "tolerance": checked.tolerance,
                    "agrees": checked.agree, "failures": list(checked.failures)}
    return report


def _cross_check_lines(report: dict) -> list[str]:
    if "skipped" in report:
        return [f"cross-check: skipped ({report['skipped']})"]
    word = {True: "agrees", False: "DISAGREES", None: "not decided"}
    smt_part = report["smt"]
    lines = [f"cross-check z3 (exact): {word[smt_part['agrees']]}"
             + (f", eps* = {smt_part['critical_epsilon']}" if "critical_epsilon" in smt_part else
                f" ({smt_part.get('reason', '')})")]
    lp_part = report["lp"]
    lines.append(f"cross-check {lp_part['solver']} MILP (floating point, tolerance {lp_part['tolerance']:g}): "
                 f"{word[lp_part['agrees']]}, eps* ~ {lp_part['milp_epsilon']:.10g}"
                 + ("" if lp_part["agrees"] else f" ({'; '.join(lp_part['failures'])})"))
    return lines


def _footer(certificate_path: str | None, result: ThresholdResult, checks: dict | None,
            not_written: str | None = None, *, verdict_certificate: bool = False,
            note: str | None = None, replayed: bool = True) -> list[str]:
    """The closing lines of certify and threshold: certificate, search statistics, cross-checks.
    ``verdict_certificate``: certify's safe/unsafe certificate, never an interval one; ``replayed``:
    False if ``--timeout`` ran out before the checker's replay finished."""
    shown = "standard output" if certificate_path == "-" else certificate_path
    kind = "" if result.complete or verdict_certificate else "an interval certificate of the bounds above, "
    checked = "verified by proofs/checker.py" if replayed else "not replayed: see the note"
    lines = [f"certificate: {shown} ({kind}{checked})"] if certificate_path else []
    if note:
        lines.append(f"certificate note: {note}")
    if not_written:
        lines.append(f"no certificate was written: {not_written}")
    lines.append(_stats_line(result))
    return lines + (_cross_check_lines(checks) if checks is not None else [])


def _disagrees(report: dict | None) -> bool:
    return bool(report) and any(part.get("agrees") is False for part in report.values() if isinstance(part, dict))


def _instance_arguments(p: argparse.ArgumentParser, *, epsilon: bool) -> None:
    from .sweep import sweep_arg
    add_model_argument(p)
    add_data_argument(p)
    if epsilon:
        p.add_argument("--epsilon", required=True, type=sweep_arg("--epsilon"), metavar="E",
                       help="error bound eps > 0, exact (e.g. 1/5 or 0.2); a list E1,E2,... or a range "
                            "START:STEP:STOP sweeps it (one row per value)")
    p.add_argument("--regret", required=True, type=sweep_arg("--regret"), metavar="L",
                   help="regret bound L with 0 < L <= 1, exact; a list L1,L2,... or a range START:STEP:STOP "
                        "sweeps it (one row per value, one process)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="with a sweep: draw eps*(D) (or its interval) against the swept value (needs matplotlib)")
    add_out_argument(p)
    add_json_argument(p)
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="give up after this long, certificate included (with --out the search gets 60%%); "
                        "the answer is then 'unknown' with an interval")
    p.add_argument("--max-nodes", type=int, metavar="N", help="give up after this many search nodes")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="run the exact search's subtrees on N local processes and merge them into one "
                        "answer and certificate (lambda = 0 only; default 1)")
    from .regularised import add_regularisation_arguments
    add_regularisation_arguments(p)
    p.add_argument("--no-milp-seed", action="store_true",
                   help=f"do not seed the exact search with the floating HiGHS MILP's policy (by default "
                        f"done above {MILP_SEED_FROM} policies, for at most {MILP_SEED_SECONDS:g} s and a quarter "
                        f"of the search's --timeout, skipped below {MILP_SEED_MIN_SECONDS:g} s; the policy "
                        f"is verified exactly)")
    p.add_argument("--cross-check", action="store_true",
                   help="also compute eps*(D) with z3 (exact) and the HiGHS MILP (floating point) and "
                        "compare; a disagreement is a bug and exits 4")
    rows = p.add_mutually_exclusive_group()
    rows.add_argument("--changed-only", action="store_true", default=None,
                      help=f"show only the pairs where the witness R^ differs from R (the default "
                           f"above {CHANGED_ONLY_ABOVE} pairs)")
    rows.add_argument("--all-rows", dest="changed_only", action="store_false",
                      help="show every pair of the witness, however many")

























def _search(args, instance) -> ThresholdResult:
    """The engine's exact search, with a progress bar on a terminal."""
    bar = ProgressBar("policies closed", min_total=256)
    try:
        return exact_search(args, instance, progress=bar)
    finally:
        bar.close()


def interval_json(result: ThresholdResult) -> dict:
    """``{"lower", "upper"}`` bracketing eps*(D) (one point when the search finished; ``"inf"`` when
    no policy has regret >= L): the key every certify and threshold run shares, at lambda = 0 and > 0."""
    if result.complete:
        value = format_epsilon(result.critical_epsilon)
        return {"lower": value, "upper": value}
    return {"lower": format_rational(result.lower_bound), "upper": format_epsilon(result.upper_bound)}


def witness_json(mdp, witness: Witness, bounds) -> dict:
    return {"reward": mdp.pair_table(witness.reward), "policy": mdp.policy_to_mapping(witness.policy),
            "error": format_rational(witness.error),
            "regret": format_rational(bounds.regret_of_return(expected_return(mdp, witness.policy)))}


def witness_lines(mdp, data, witness: Witness, bounds, *, changed_only: bool | None = None) -> list[str]:
    """The witness table; ``changed_only`` (default: above ``CHANGED_ONLY_ABOVE`` pairs) keeps
    only the pairs where ``R^`` differs from ``R``."""
    if changed_only is None:
        changed_only = mdp.n_pairs > CHANGED_ONLY_ABOVE
    rows = []
    for x in range(mdp.n_pairs):
        if not mdp.is_enabled(x):
            continue
        state, action = mdp.pair_name(x)
        r, rh = mdp.reward[x], witness.reward[x]
        if changed_only and rh == r:
            continue
        rows.append((state, action, format_rational(r), format_rational(rh),
                     format_rational(rh - r) if rh != r else "0", format_rational(data[x])))
    regret = bounds.regret_of_return(expected_return(mdp, witness.policy))
    hidden = mdp.n_pairs - len(rows)
    note = [f"({hidden} of {mdp.n_pairs} pairs where R^ = R not shown; --all-rows shows them)"] if hidden else []
    from rewardcert.symbolic.paper.closed_form import theorem_d11
    d11 = theorem_d11(mdp, witness.reward, regret, bounds)
    projection = ("" if d11.projection_right is None else
                  f"; with the projection, {'<=' if d11.projection_holds else '>'} 2 ||R - proj_R^ R||^2 = "
                  f"{approximate(d11.projection_right)} ({'holds' if d11.projection_holds else 'CONTRADICTED'})")
    return (table(rows, ("state", "action", "R", "R^", "R^-R", "D")) + note
            + [f"optimal for R^: {policy_brief(mdp, witness.policy)}   regret under R: {with_decimal(regret)}",
               f"error E_D|R^-R| / range R = {with_decimal(witness.error)}",
               f"Thm D.11 (paper): Reg^2 (1-g)^2 range J^2 = {approximate(d11.left)} "
               f"{'<=' if d11.holds else '>'} 2 ||R - R^||^2 = {approximate(d11.right)} (decided exactly: "
               f"{'holds' if d11.holds else 'CONTRADICTED'}){projection}"])


def _duplicates(result: ThresholdResult) -> int:
    """How many actions the search covered by a duplicate (format §3.8) instead of searching them."""
    return len(result.duplicates.cover) if result.duplicates is not None else 0


def _stats(result: ThresholdResult) -> dict:
    s = result.stats
    return {"nodes": s.nodes, "regret_closures": s.regret_closures, "dual_closures": s.dual_closures,
            "regret_dual_closures": s.regret_dual_closures, "duplicate_actions": _duplicates(result),
            "policies_solved": s.leaf_policies, "lp_solves": s.lp_solves, "pivots": s.pivots,
            "exact_vertices": s.exact_vertices, "exact_solves": s.exact_solves,
            "seconds": round(s.seconds, 3), "complete": result.complete}


def _stats_line(result: ThresholdResult) -> str:
    s = result.stats
    merged = _duplicates(result)
    return (f"search: {plural(s.nodes, 'family')}, {s.regret_closures} closed by regret, {s.dual_closures} by duals, "
            f"{s.regret_dual_closures} by regret-aware duals, {s.lp_solves} float LPs, "
            f"{s.exact_vertices} checked exactly, {s.exact_solves} exact simplex runs, {s.seconds:.2f} s"
            + (f"; {merged} duplicate actions searched once (toolkit's reduction)" if merged else ""))


def _critical_line(result: ThresholdResult, reason: str = "the search stopped at its budget") -> str:
    if result.complete:
        return f"critical error eps*(D) = {with_decimal(result.critical_epsilon)}"
    upper = with_decimal(result.upper_bound)
    if result.upper_bound is not None and result.lower_bound == result.upper_bound:
        # the bounds met: a certified lower end and a verified witness pin eps*(D) after all
        return (f"critical error eps*(D) = {upper} (its certified lower end and the verified witness's "
                "error meet)")
    if not result.open_leaves and result.stats.nodes:
        return (f"critical error eps*(D) in [{with_decimal(result.lower_bound)}, {upper}] "
                f"(above {DECIDE_ONLY_FROM} policies certify decides epsilon without computing eps*(D))")
    if reason.startswith("certify decided"):
        return f"critical error eps*(D) in [{with_decimal(result.lower_bound)}, {upper}] ({reason})"
    return (f"critical error eps*(D) in [{with_decimal(result.lower_bound)}, {upper}] "
            f"({reason}: the lower end is the weakest open bound, "
            "the upper end a verified witness)")


# -- certify ---------------------------------------------------------------------

@command("certify", "decide whether D is safe for error eps and regret bound L, with a certificate",
         lambda p: _instance_arguments(p, epsilon=True))
def run_certify(args: argparse.Namespace) -> int:
    from .sweep import is_sweep, run_sweep, single
    if is_sweep(args):
        return run_sweep(args, "certify", run_certify)
    single(args)
    if args.error == "squared":
        from . import squared
        return squared.run_certify(args)
    if args.lam is not None or args.error != "absolute" or args.data == "reference":
        from . import regularised
        return regularised.run_certify(args)
    instance = load_instance(args)
    mdp, data = instance.mdp, instance.data
    result = _search(args, instance)
    verdict = result.verdict(args.epsilon)
    certificate_path = not_written = note = None
    too_large, replayed = False, True
    if args.out and verdict is not Verdict.UNKNOWN:
        try:
            replayed = write_certificate(args, safety_certificate(mdp, data, args.epsilon, args.regret, result))
            certificate_path = args.out
            note = None if replayed else not_replayed(args.out)
        except CertificateTooLarge as error:     # the verdict is still reported, then exit 2
            not_written, too_large = str(error).split('; ')[0], True
    elif args.out:
        not_written = f"the verdict is unknown ({budget_reason(args, result)})"
    show_witness = verdict is Verdict.UNSAFE
    checks = cross_check(mdp, data, args.regret, result) if args.cross_check else None
    if args.json:
        print_json({
            "model": instance.name,
            "verdict": verdict.value,
            "epsilon": format_rational(args.epsilon),
            "regret_bound": format_rational(args.regret),
            "critical_epsilon": format_epsilon(result.critical_epsilon) if result.complete else None,
            "interval": interval_json(result),
            "complete": result.complete,
            "critical_epsilon_interval": None if result.complete else         # deprecated: "interval"
                [format_rational(result.lower_bound), format_epsilon(result.upper_bound)],
            "witness": witness_json(mdp, result.witness, result.bounds) if show_witness else None,
            "certificate": certificate_path,
            "certificate_replayed": replayed if certificate_path else None,
            "certificate_note": note,
            "certificate_not_written": not_written,
            "search": _stats(result),
            "cross_check": checks,
        }, "certify")
    else:
        decided = verdict is not Verdict.UNKNOWN and not result.complete
        reason = "certify decided epsilon without computing eps*(D)" if decided else budget_reason(args, result)
        out = [f"{instance.name}: epsilon = {format_rational(args.epsilon)}, "
               f"L = {format_rational(args.regret)}",
               _critical_line(result, reason)]
        if verdict is Verdict.SAFE:
            out.append("verdict: SAFE - every reward model within error epsilon on D leads to regret < L")
        elif verdict is Verdict.UNSAFE:
            out.append("verdict: UNSAFE - this reward model is within error epsilon on D, "
                       "and its optimal policy has regret >= L:")
            out += ["  " + line for line in witness_lines(mdp, data, result.witness, result.bounds,
                                                          changed_only=args.changed_only)]
        else:
            out.append(f"verdict: UNKNOWN - the search stopped before it could decide "
                       f"({budget_hint(args, result)})")
        print("\n".join(out + _footer(certificate_path, result, checks, not_written, verdict_certificate=True,
                                       note=note, replayed=replayed)))
    if too_large:
        return EXIT_BAD_INPUT
    if _disagrees(checks):
        return EXIT_DISAGREEMENT
    return search_exit_status(args, {Verdict.SAFE: EXIT_OK, Verdict.UNSAFE: EXIT_UNSAFE,
                                     Verdict.UNKNOWN: EXIT_UNKNOWN}[verdict])


# -- threshold ---------------------------------------------------------------------

@command("threshold", "compute the critical error eps*(D) exactly, with its witness and a certificate",
         lambda p: _instance_arguments(p, epsilon=False))
def run_threshold(args: argparse.Namespace) -> int:
    from .sweep import is_sweep, run_sweep, single
    if is_sweep(args):
        return run_sweep(args, "threshold", run_threshold)
    single(args)
    if args.error == "squared":
        from . import squared
        return squared.run_threshold(args)
    if args.lam is not None or args.error != "absolute" or args.data == "reference":
        from . import regularised
        return regularised.run_threshold(args)
    instance = load_instance(args)
    mdp, data = instance.mdp, instance.data
    result = _search(args, instance)
    certificate_path = note = None
    replayed = True
    if args.out:
        # A stopped search still proves its interval (certificate-format §3.5).
        certificate_path, note, replayed = write_threshold_certificate(args, instance, result)
    checks = cross_check(mdp, data, args.regret, result) if args.cross_check else None
    if args.json:
        print_json({
            "model": instance.name,
            "regret_bound": format_rational(args.regret),
            "critical_epsilon": format_epsilon(result.critical_epsilon) if result.complete else None,
            "interval": interval_json(result),
            "complete": result.complete,
            "critical_epsilon_interval": None if result.complete else         # deprecated: "interval"
                [format_rational(result.lower_bound), format_epsilon(result.upper_bound)],
            "policy": mdp.policy_to_mapping(result.witness.policy) if result.witness else None,
            "witness": witness_json(mdp, result.witness, result.bounds) if result.witness else None,
            "certificate": certificate_path,
            "certificate_replayed": replayed if certificate_path else None,
            "certificate_note": note,
            "search": _stats(result),
            "cross_check": checks,
        }, "threshold")
    else:
        out = [f"{instance.name}: L = {format_rational(args.regret)}",
               _critical_line(result, budget_reason(args, result))]
        if result.complete and result.critical_epsilon is None:
            out.append("no policy has regret >= L, so D is safe for every epsilon")
        elif result.complete:
            out.append(f"D is safe exactly for epsilon < {format_rational(result.critical_epsilon)}; "
                       "at eps*(D) this reward model already breaks it:")
        else:
            out.append(f"undecided: {budget_hint(args, result)}"
                       + ("; the best witness so far:" if result.witness is not None else ""))
        if result.witness is not None:
            out += ["  " + line for line in witness_lines(mdp, data, result.witness, result.bounds,
                                                          changed_only=args.changed_only)]
        print("\n".join(out + _footer(certificate_path, result, checks, note=note, replayed=replayed)))
    if _disagrees(checks):
        return EXIT_DISAGREEMENT
    return search_exit_status(args, EXIT_OK if result.complete else EXIT_UNKNOWN)


# -- check ---------------------------------------------------------------------------

def _configure_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("certificate", metavar="CERT",
                   help="certificate file (JSON, rewardcert/certificate-1); '-' reads standard input")
    p.add_argument("--json", action="store_true", help="print one JSON object")


@command("check", "check a certificate with the standalone checker (exit 0 verified, 1 rejected, 2 unreadable)",
         _configure_check)
def run_check(args: argparse.Namespace) -> int:
    from rewardcert.proofs import checker
    status, message, facts = checker.check_file(args.certificate)
    if args.json:
        print_json({"result": status, "message": message, **facts}, "check")
    elif status == "verified":
        print(verified_line(facts))
    elif status == "rejected":
        print(f"{status.upper()}: {message}")
    else:                    # a file that cannot be read is an input error, reported as every command does
        print(f"rewardcert: error: {args.certificate}: cannot read the certificate: {message}", file=sys.stderr)
    return {"verified": EXIT_OK, "rejected": EXIT_UNSAFE}.get(status, EXIT_BAD_INPUT)


def verified_line(facts: dict) -> str:
    """One line saying what the checker verified: model, claim, eps, L and what follows for eps*."""
    name = facts.get("model") or "the model"
    verdict, eps, regret = facts.get("verdict"), facts.get("epsilon"), facts.get("regret_bound")
    if verdict in ("heavy-tails", "heavy-tails-family"):
        counts = ", ".join(f"{n} {status}" for status, n in sorted((facts.get("claims") or {}).items()))
        what = f"family {facts.get('family')}, {plural(facts.get('members', 0), 'member')} regenerated" \
            if verdict == "heavy-tails-family" else name
        return (f"VERIFIED: {what}: heavy-tailed error under a KL penalty: every enclosure, bracket and exact "
                f"value, and the claims' statuses ({counts or 'none'})")

    def shown(text):
        from fractions import Fraction
        return text if text in (None, "inf") else with_decimal(Fraction(text))

    claim = {
        "safe": f"SAFE at eps = {shown(eps)}, L = {regret}, so eps*(D) > {eps}",
        "unsafe": f"UNSAFE at eps = {shown(eps)}, L = {regret}, so eps*(D) <= {eps}",
        "threshold": f"eps*(D) = {shown(eps)} exactly at L = {regret}",
        "safest": f"eps** = max_D eps*(D) = {shown(eps)} at L = {regret}, with a safest D",
        "squared-safe": f"SAFE at eps = {shown(eps)}, L = {regret} (mean-squared error), so eps*_MSE(D) > {eps}",
        "squared-unsafe": f"UNSAFE at eps = {shown(eps)}, L = {regret} (mean-squared error), so eps*_MSE(D) <= {eps}",
        "squared-threshold": f"eps*_MSE(D) = {shown(eps)} exactly at L = {regret} (mean-squared error)",
    }.get(verdict)
    if claim is None and verdict and verdict.startswith("regularised"):
        lam = facts.get("lambda")
        measure = "preference error, " if facts.get("error_measure") == "preference" else ""
        interval = facts.get("critical_error") or {}
        claim = {
            "regularised-safe": f"SAFE at eps = {shown(eps)}, L = {regret}, lambda = {lam} ({measure}KL-regularised)",
            "regularised-unsafe": f"UNSAFE at eps = {shown(eps)}, L = {regret}, lambda = {lam} "
                                  f"({measure}KL-regularised)",
            "regularised-interval": f"eps*_lambda(D) in [{shown(interval.get('lower'))}, {shown(interval.get('upper'))}] "
                                    f"at L = {regret}, lambda = {lam} ({measure}KL-regularised)",
        }.get(verdict)
    if claim is None:
        claim = f"{verdict} (eps = {eps}, L = {regret})"
    size = f"{plural(facts.get('states', 0), 'state')} x {plural(facts.get('actions', 0), 'action')}"
    producer = f"; written by {facts['producer']}" if facts.get("producer") else ""
    return f"VERIFIED: {name}: {claim} ({size}{producer})"
