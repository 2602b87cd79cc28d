"""``rewardcert theorems``: every applicable §3 result on one instance, checked against the truth."""

from __future__ import annotations

import argparse
import os

from rewardcert.symbolic.core.errors import RewardcertError
from rewardcert.symbolic.core.numbers import format_rational

from ..certificates import write_certificate
from ..engine import load_instance
from ..output import write_text
from ..theorem_checks import latex_report, markdown_report, theorem_instances
from . import (
    EXIT_DISAGREEMENT,
    EXIT_OK,
    add_data_argument,
    add_epsilon_argument,
    add_json_argument,
    add_model_argument,
    add_regret_argument,
    command,
    print_json,
    table,
)


def configure(p: argparse.ArgumentParser) -> None:
    add_model_argument(p)
    add_data_argument(p)
    add_epsilon_argument(p)
    add_regret_argument(p)
    p.add_argument("-o", "--out", metavar="DIR",
                   help="a directory: write report.md, the certificates (and report.tex) into it; it is "
                        "created if missing, but its parent directory must exist")
    p.add_argument("--latex", action="store_true", help="also write report.tex (with --out) or print it")
    add_json_argument(p)
    from .regularised import add_regularisation_arguments
    add_regularisation_arguments(p)


@command("theorems", "run every applicable result of the paper's section 3 on an instance, next to "
         "the toolkit's own exact threshold (Theorem E) and safest D, which are labelled as the toolkit's "
         "(exit 4 if a conclusion disagrees with the exact truth)", configure)
def run(args: argparse.Namespace) -> int:
    if args.out:
        _check_out_directory(args.out)
    out_dir, args.out = args.out, None      # load_instance checks a certificate --out; this one is a DIR
    instance = load_instance(args)
    loaded, data = instance.loaded, instance.data
    args.out = out_dir
    report = theorem_instances(loaded.mdp, data, args.epsilon, args.regret, name=loaded.mdp.name or loaded.path)
    report = _with_theorem_d11(loaded.mdp, data, report)
    constants = None
    if args.lam is not None:
        report, constants = _with_regularised_rows(args, loaded.mdp, data, report)
    if args.out:
        try:
            os.makedirs(args.out, exist_ok=True)
        except OSError as exc:
            raise RewardcertError(f"cannot create the directory: {exc.strerror}", file=args.out) from None
        write_text(os.path.join(args.out, "report.md"), markdown_report(report), what="report")
        if args.latex:
            write_text(os.path.join(args.out, "report.tex"), latex_report(report), what="report")
        for name, document in report.certificates.items():
            write_certificate(os.path.join(args.out, name), document)
    if args.json:
        print_json({
            "model": report.model,
            "epsilon": format_rational(report.epsilon),
            "regret_bound": format_rational(report.regret_bound),
            "checks": [{"result": c.result, "statement": c.statement, "hypothesis": c.hypothesis,
                        "hypothesis_holds": c.hypothesis_holds,
                        "hypothesis_parts": {part: holds for part, holds in c.hypothesis_parts},
                        "conclusion": c.conclusion, "truth": c.truth,
                        "agrees": c.agrees, "certificates": list(c.certificates)} for c in report.checks],
            "regularised_constants": constants,
            "disagreements": len(report.disagreements),
            "out": args.out,
        }, "theorems")
    else:
        rows = [(c.result, c.hypothesis_mark, {True: "yes", False: "NO", None: "-"}[c.agrees],
                 c.conclusion) for c in report.checks]
        out = [f"{report.model}: the paper's section 3 results on this instance, eps = "
               f"{format_rational(report.epsilon)}, L = {format_rational(report.regret_bound)} "
               "(rows marked \"the toolkit's\" are the toolkit's own, not the paper's)"]
        out += table(rows, ("result", "hypothesis", "agrees", "conclusion"))
        out += ["", "exact truth:"] + [f"  {c.result}: {c.truth}" for c in report.checks]
        out.append("(Theorem E is the toolkit's own statement (docs/theory.md §3); the paper's closest are Lemma C.15 "
                   "and Theorem C.16. The safest D is the toolkit's addition.)")
        if args.out:
            out.append(f"report and {len(report.certificates)} certificates written to {args.out}")
        if args.latex and not args.out:
            out += ["", latex_report(report)]
        if report.disagreements:
            out.append("DISAGREEMENT: a conclusion contradicts the exact truth (a bug here or in the paper)")
        print("\n".join(out))
    return EXIT_DISAGREEMENT if report.disagreements else EXIT_OK


def _with_regularised_rows(args, mdp, data, report):
    """Add the §4 rows (Prop 4.1, Thm 4.2) for ``--lambda`` and return their constants."""
    import dataclasses

    from rewardcert.symbolic.core.policyfile import resolve_reference

    from ..theorem_checks.regularised import regularised_checks
    certificates = dict(report.certificates)
    reference = resolve_reference(args.reference, mdp)
    rows, constants = regularised_checks(mdp, data, args.epsilon, args.regret, args.lam, reference, certificates)
    if mdp.gamma == 0:
        from ..theorem_checks.regularised import rlhf_checks
        more, rlhf_constants = rlhf_checks(mdp, args.epsilon, args.regret, args.lam, reference)
        rows += more
        constants["rlhf"] = rlhf_constants
    return dataclasses.replace(report, checks=report.checks + tuple(rows), certificates=certificates), constants


def _with_theorem_d11(mdp, data, report):
    """Thm D.11's first two claims on the exact witness (every run, lambda = 0)."""
    import dataclasses

    from ..theorem_checks.regularised import theorem_d11_check
    return dataclasses.replace(report, checks=report.checks + (theorem_d11_check(mdp, data, report.regret_bound),))


def _check_out_directory(path: str) -> None:
    """``--out DIR``: a directory (created if missing) whose parent exists; not ``-``."""
    if path == "-":
        raise RewardcertError("--out takes a directory for the report and the certificates; "
                              "'-' (standard output) is not one", entry="--out")
    if os.path.exists(path) and not os.path.isdir(path):
        raise RewardcertError(f"{path!r} is a file; --out takes a directory", entry="--out")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise RewardcertError(f"cannot create the directory {path!r}: its parent {parent!r} does not exist "
                              f"(create it first, e.g. mkdir -p {parent})", entry="--out")
