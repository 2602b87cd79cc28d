"""``rewardcert theorems``: every applicable §3 result on one instance, checked against the truth."""

from __future__ import annotations

import argparse
import os

from symbolic.errors import RewardcertError
from symbolic.numbers import format_rational

from ..certificates import write_certificate
from ..theorems import latex_report, markdown_report, theorem_instances
from . import (EXIT_DISAGREEMENT, EXIT_OK, add_data_argument, add_epsilon_argument, add_json_argument,
               add_model_argument, add_regret_argument, command, load_instance, print_json, table)


def configure(p: argparse.ArgumentParser) -> None:
    add_model_argument(p)
    add_data_argument(p)
    add_epsilon_argument(p)
    add_regret_argument(p)
    p.add_argument("--out", metavar="DIR", help="write report.md, the certificates (and report.tex) here")
    p.add_argument("--latex", action="store_true", help="also write report.tex (with --out) or print it")
    add_json_argument(p)
    from .regularised import add_regularisation_arguments
    add_regularisation_arguments(p)


@command("theorems", "run every applicable result of the paper's section 3 on an instance "
         "(exit 4 if a conclusion disagrees with the exact truth)", configure)
def run(args: argparse.Namespace) -> int:
    loaded, data = load_instance(args)
    report = theorem_instances(loaded.mdp, data, args.epsilon, args.regret, name=loaded.mdp.name or loaded.path)
    constants = None
    if args.lam is not None:
        report, constants = _with_regularised_rows(args, loaded.mdp, data, report)
    if args.out:
        try:
            os.makedirs(args.out, exist_ok=True)
            with open(os.path.join(args.out, "report.md"), "w", encoding="utf-8") as handle:
                handle.write(markdown_report(report))
            if args.latex:
                with open(os.path.join(args.out, "report.tex"), "w", encoding="utf-8") as handle:
                    handle.write(latex_report(report))
        except OSError as exc:
            raise RewardcertError(f"cannot write the report: {exc.strerror}", file=args.out) from None
        for name, document in report.certificates.items():
            write_certificate(os.path.join(args.out, name), document)
    if args.json:
        print_json({
            "model": report.model,
            "epsilon": format_rational(report.epsilon),
            "regret_bound": format_rational(report.regret_bound),
            "checks": [{"result": c.result, "statement": c.statement, "hypothesis": c.hypothesis,
                        "hypothesis_holds": c.hypothesis_holds, "conclusion": c.conclusion, "truth": c.truth,
                        "agrees": c.agrees, "certificates": list(c.certificates)} for c in report.checks],
            "regularised_constants": constants,
            "disagreements": len(report.disagreements),
            "out": args.out,
        })
    else:
        mark = {True: "yes", False: "no", None: "-"}
        rows = [(c.result, mark[c.hypothesis_holds], {True: "yes", False: "NO", None: "-"}[c.agrees],
                 c.conclusion) for c in report.checks]
        out = table(rows, ("result", "hypothesis", "agrees", "conclusion"))
        out += ["", "exact truth:"] + [f"  {c.result}: {c.truth}" for c in report.checks]
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
    from symbolic.policyfile import resolve_reference
    from ..regularised_theorems import regularised_checks
    certificates = dict(report.certificates)
    rows, constants = regularised_checks(mdp, data, args.epsilon, args.regret, args.lam,
                                         resolve_reference(args.reference, mdp), certificates)
    return dataclasses.replace(report, checks=report.checks + tuple(rows), certificates=certificates), constants
