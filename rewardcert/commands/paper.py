"""``rewardcert matrix`` (Theorem 3.5's M) and ``rewardcert safest`` (ε** and the safest D)."""

from __future__ import annotations

import argparse
import dataclasses

from rewardcert.symbolic.core.errors import ResourceLimit
from rewardcert.symbolic.core.numbers import (
    format_epsilon,
    format_rational,
    with_decimal,
)
from rewardcert.symbolic.exact.familylp import linear_program
from rewardcert.symbolic.paper.matrix import (
    dominating_row,
    mark_redundant_rows,
    paper_algorithm_rows,
    safety_matrix,
)
from rewardcert.symbolic.paper.safest import safest_distribution

from ..certificates import not_replayed, safest_certificate
from ..engine import load_instance, search_budget, searching, write_certificate
from ..progress import ProgressBar
from . import (
    EXIT_DISAGREEMENT,
    EXIT_OK,
    EXIT_UNKNOWN,
    add_json_argument,
    add_model_argument,
    add_out_argument,
    add_regret_argument,
    command,
    plural,
    policy_text,
    print_json,
    search_exit_status,
    table,
)

PAPER_CANDIDATES_DEFAULT = 20_000
SHOW_PAPER_ROWS = 8


def _model_and_regret(p: argparse.ArgumentParser) -> None:
    add_model_argument(p)
    add_regret_argument(p)
    add_json_argument(p)


def _pair_labels(mdp) -> list[str]:
    return [f"{s}:{a}" for s in mdp.states for a in mdp.actions]


def paper_cross_check(mdp, matrix, rows_from_paper) -> list[dict]:
    """Classify each row of the paper's Algorithm 1 against M: in M, dominated by a row
    of M, implied on the simplex (exact LP), or disagreeing (a bug here or there)."""
    kept = {row.coefficients: k for k, row in enumerate(matrix.rows)}
    report = []
    for row in rows_from_paper:
        if row in kept:
            report.append({"row": row, "status": "in M", "row_of_m": kept[row] + 1})
            continue
        dominant = dominating_row(row, matrix.rows)
        if dominant is not None:
            report.append({"row": row, "status": "dominated", "row_of_m": matrix.rows.index(dominant) + 1})
            continue
        # implied on the simplex iff max_D (min_k M_k·D − row·D) ≤ 0
        N = mdp.n_pairs
        c = [-v for v in row] + [1]
        a_ub = [[-v for v in other.coefficients] + [1] for other in matrix.rows]
        result = linear_program(c, a_ub, [0] * len(a_ub), [[1] * N + [0]], [1])
        status = "implied on the simplex" if result.value <= 0 else "DISAGREES"
        report.append({"row": row, "status": status, "row_of_m": None})
    return report


def _configure_matrix(p: argparse.ArgumentParser) -> None:
    _model_and_regret(p)
    _add_timeout(p)
    p.add_argument("--latex", action="store_true", help="also print M as a LaTeX bmatrix")
    paper = p.add_mutually_exclusive_group()
    paper.add_argument("--paper", action="store_true",
                       help="always cross-check with the paper's Algorithm 1, however long it takes")
    paper.add_argument("--no-paper", action="store_true", help="skip the Algorithm 1 cross-check")


def matrix_latex(mdp, matrix) -> str:
    import sympy
    rows = [[sympy.Rational(c.numerator, c.denominator) for c in row.coefficients] for row in matrix.rows]
    body = sympy.latex(sympy.Matrix(rows), mat_delim="", mat_str="bmatrix")
    return (f"M = {body},\\quad D \\in \\mathrm{{safe}}(R,\\epsilon,L) \\iff M D > "
            f"\\epsilon \\cdot {sympy.latex(sympy.Rational(matrix.range_reward.numerator, matrix.range_reward.denominator))}"
            f" \\cdot \\mathbf{{1}}")


@command("matrix", "the matrix M of Theorem 3.5 exactly: D is safe iff M D > eps * range R (row-wise)",
         _configure_matrix)
def run_matrix(args: argparse.Namespace) -> int:
    loaded = load_instance(args, with_data=False).loaded
    mdp = loaded.mdp
    bar = ProgressBar("policies, bases, then redundant rows", min_total=2000)
    expired = _budget(args)

    def progress(done: int, total: int) -> None:
        bar(done, total)
        if expired():
            raise _Stopped(done, total)
    interrupts = getattr(args, "interrupts", None)

    def reason() -> str:
        return "interrupted" if interrupts is not None and interrupts.stop_requested() else "--timeout ran out"
    try:
        with searching(args):
            matrix = safety_matrix(mdp, args.regret, progress=progress, mark_redundant=False)
            # M is complete here; a budget that runs out while marking leaves rows unchecked, not M partial
            matrix = dataclasses.replace(matrix, rows=tuple(mark_redundant_rows(
                matrix.rows, progress=bar, stop=expired)))
    except _Stopped as stopped:
        bar.close()
        message = (f"M is incomplete: {reason()} after {stopped.done} of {stopped.total} steps of the enumeration "
                   "(policies, bases, then the redundancy marks); no row is reported, since a partial M decides nothing "
                   "(`rewardcert threshold` bounds eps*(D) within a budget)")
        if args.json:
            print_json({"model": mdp.name or loaded.path, "complete": False, "message": message}, "matrix")
        else:
            print(f"{mdp.name or loaded.path}: L = {format_rational(args.regret)}\n{message}")
        return search_exit_status(args, EXIT_UNKNOWN)
    bar.close()
    unchecked = sum(row.redundant is None for row in matrix.rows)
    marks_note = None
    if unchecked:
        marks_note = (f"M is complete, but {reason()} while marking redundant rows: {unchecked} of "
                      f"{len(matrix.rows)} rows were not checked (a row kept changes no eps*(D))")
    cross = None
    paper_note = "skipped (--no-paper)"
    if unchecked:
        paper_note = "skipped: the budget ran out"
    elif not args.no_paper and matrix.rows:
        budget = None if args.paper else PAPER_CANDIDATES_DEFAULT
        try:
            rows = paper_algorithm_rows(mdp, args.regret, bounds=matrix.bounds,
                                        **({} if budget is None else {"max_candidates": budget}))
            cross = paper_cross_check(mdp, matrix, rows)
            paper_note = f"{len(rows)} rows"
        except ResourceLimit as exc:
            paper_note = f"skipped: {exc.message} (use --paper to run it anyway)"
    disagreement = cross is not None and any(item["status"] == "DISAGREES" for item in cross)
    if args.json:
        print_json({
            "model": mdp.name or loaded.path,
            "complete": True,
            "regret_bound": format_rational(args.regret),
            "range_reward": format_rational(matrix.range_reward),
            "high_regret_policies": len(matrix.high_regret_policies),
            "bases": matrix.bases,
            "rows": [{"coefficients": mdp.pair_table(row.coefficients),
                      "policy": mdp.policy_to_mapping(row.policy),
                      "witness": mdp.pair_table(row.witness),
                      "redundant_on_simplex": row.redundant} for row in matrix.rows],
            "paper_algorithm": None if cross is None else [
                {"coefficients": mdp.pair_table(item["row"]), "status": item["status"],
                 "row_of_m": item["row_of_m"]} for item in cross],
            "paper_algorithm_note": paper_note,
            "redundancy_marks_complete": not unchecked,
            **({"message": marks_note} if marks_note else {}),
        }, "matrix")
    else:
        out = [f"{mdp.name or loaded.path}: L = {format_rational(args.regret)}, "
               f"{plural(len(matrix.high_regret_policies), 'deterministic policy')} with regret >= L, "
               f"range R = {format_rational(matrix.range_reward)}"]
        if not matrix.rows:
            out.append("no policy has regret >= L: M has no rows and every D is safe for every eps")
        else:
            out.append("D is safe for eps  <=>  for every row: sum over pairs of row * D > eps * range R")
            labels = _pair_labels(mdp)
            if mdp.has_disabled:    # disabled pairs have no column of their own (always 0)
                labels = [label for x, label in enumerate(labels) if mdp.is_enabled(x)]
            rows = [[str(k + 1)] + [format_rational(c) for x, c in enumerate(row.coefficients) if mdp.is_enabled(x)]
                    + [policy_text(mdp, row.policy), "redundant on the simplex" if row.redundant
                       else "not checked" if row.redundant is None else ""]
                    for k, row in enumerate(matrix.rows)]
            out += table(rows, ["row"] + labels + ["policy", "note"])
            out.append(f"({matrix.bases} bases enumerated; duplicate and dominated rows removed; "
                       "each row's witness reward model is in --json)")
            out.append(f"paper's Algorithm 1 (cross-check): {paper_note}")
            extra = [item for item in cross or [] if item["status"] != "in M"]
            for item in extra[:SHOW_PAPER_ROWS]:
                where = f" by row {item['row_of_m']}" if item["row_of_m"] else ""
                out.append(f"  ({', '.join(format_rational(c) for c in item['row'])}): {item['status']}{where}")
            if len(extra) > SHOW_PAPER_ROWS:
                counts = {}
                for item in extra[SHOW_PAPER_ROWS:]:
                    counts[item["status"]] = counts.get(item["status"], 0) + 1
                out.append("  ... and " + ", ".join(f"{n} more {status}" for status, n in counts.items())
                           + " (all in --json)")
            if marks_note:
                out.append(marks_note)
            if args.latex:
                out += ["", matrix_latex(mdp, matrix)]
        print("\n".join(out))
    if unchecked:
        return search_exit_status(args, EXIT_UNKNOWN)
    return EXIT_DISAGREEMENT if disagreement else EXIT_OK


# -- safest ---------------------------------------------------------------------------

def _add_timeout(p: argparse.ArgumentParser, *, out: bool = False) -> None:
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="stop after this long and report what is known (exit 3)"
                        + ("; it covers the certificate too: with --out the search gets 60%%" if out else ""))


def _budget(args):
    """``(expired(), stop)``: --timeout and Ctrl-C/SIGTERM, polled where the search reports progress."""
    import time
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    interrupts = getattr(args, "interrupts", None)

    def expired() -> bool:
        return (deadline is not None and time.monotonic() > deadline) or \
            (interrupts is not None and interrupts.stop_requested())
    return expired


class _Stopped(Exception):
    def __init__(self, done: int, total: int):
        super().__init__(f"stopped after {done} of {total}")
        self.done, self.total = done, total


def _configure_safest(p: argparse.ArgumentParser) -> None:
    _model_and_regret(p)
    _add_timeout(p, out=True)
    add_out_argument(p, help="write a 'safest' certificate (JSON) here ('-': standard output, and the "
                             "report goes to standard error); an existing file is replaced atomically, "
                             "a missing directory is an error")


@command("safest", "the safest data distribution and the largest error any distribution tolerates (eps**)",
         _configure_safest)
def run_safest(args: argparse.Namespace) -> int:
    loaded = load_instance(args, with_data=False).loaded
    mdp = loaded.mdp
    bar = ProgressBar("cutting planes", min_total=2)
    try:
        with searching(args) as stop:
            result = safest_distribution(mdp, args.regret, progress=bar, max_seconds=search_budget(args), stop=stop)
    finally:
        bar.close()
    if not result.complete:
        return _safest_incomplete(args, loaded, result)
    certificate_path, replayed = None, True
    if args.out:
        replayed = write_certificate(args, safest_certificate(mdp, args.regret, result))
        certificate_path = args.out
    if args.json:
        print_json({
            "model": mdp.name or loaded.path,
            "regret_bound": format_rational(args.regret),
            "max_critical_epsilon": format_epsilon(result.max_critical_epsilon),
            "data": mdp.pair_table(result.data),
            "cutting_plane_iterations": result.iterations,
            "cuts": len(result.rows),
            "max_critical_epsilon_interval": None,
            "complete": True,
            "certificate": certificate_path,
            "certificate_replayed": replayed if certificate_path else None,
        }, "safest")
        return EXIT_OK
    out = [f"{mdp.name or loaded.path}: L = {format_rational(args.regret)}"]
    if result.max_critical_epsilon is None:
        out.append("eps** = inf: no policy has regret >= L, so every D is safe for every eps")
    else:
        eps = format_rational(result.max_critical_epsilon)
        out += [f"eps** = {with_decimal(result.max_critical_epsilon)}: no data distribution is safe for eps >= {eps};",
                f"this one is safe exactly for eps < {eps} (the largest tolerance possible):"]
        rows = []
        for x, p in enumerate(result.data):
            state, action = mdp.pair_name(x)
            rows.append((state, action, format_rational(p)))
        out += ["  " + line for line in table(rows, ("state", "action", "D"))]
        out.append(f"(cutting planes: {result.iterations} exact LPs over {len(result.rows)} witness rows; "
                   "M was not built)")
    if certificate_path:
        shown = "standard output" if certificate_path == "-" else certificate_path
        out.append(f"certificate: {shown} (verified by proofs/checker.py)" if replayed else
                   f"certificate: {shown} ({not_replayed(certificate_path)})")
    print("\n".join(out))
    return EXIT_OK


def _safest_incomplete(args, loaded, result) -> int:
    """A budget stopped the cutting planes: report the bracket on eps** (no certificate)."""
    mdp = loaded.mdp
    upper = format_epsilon(result.upper)
    reason = "interrupted" if getattr(args, "interrupts", None) and args.interrupts.stop_requested() \
        else "--timeout ran out"
    if args.json:
        print_json({"model": mdp.name or loaded.path, "regret_bound": format_rational(args.regret),
                    "max_critical_epsilon": None, "complete": False,
                    "max_critical_epsilon_interval": [format_rational(result.lower), upper],
                    "data": mdp.pair_table(result.data), "cutting_plane_iterations": result.iterations,
                    "certificate": None}, "safest")
    else:
        out = [f"{mdp.name or loaded.path}: L = {format_rational(args.regret)}",
               f"eps** in [{with_decimal(result.lower)}, {with_decimal(result.upper)}] ({reason} after "
               f"{result.iterations} cutting planes): " + (
                   "the lower end bounds eps*(D) at the uniform D, whose search was stopped, "
                   if not result.iterations else "the lower end is the exact eps*(D) of the best D found, ")
               + "the upper end the LP bound over the witness rows found (at most 1/2, docs/theory.md §2)",
               "undecided: raise --timeout" + ("; no certificate was written (a safest certificate needs "
                                               "eps** exactly)" if args.out else "")]
        print("\n".join(out))
    return search_exit_status(args, EXIT_UNKNOWN)
