"""``rewardcert theorems``: every applicable result of the paper on one instance, checked against the truth."""

from __future__ import annotations

import argparse
import os

from rewardcert.symbolic.core.errors import RewardcertError
from rewardcert.symbolic.core.numbers import format_rational

from ..certificates import write_certificate
from ..engine import load_instance
from ..output import write_text
from ..theorem_checks import latex_report, markdown_report, theorem_instances
from ..theorem_checks.exact import sections_text
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
    p.add_argument("--error", choices=("absolute", "squared"), default="absolute",
                   help="'squared' adds App. B.3's rows: the exact eps*_MSE(D), Prop B.1, and the MSE versions "
                        "of Props 3.2, 3.3, Cor 3.4 and (with --lambda) Thm 4.2")
    p.add_argument("--mu", metavar="MU",
                   help="with --lambda on a bandit: the contexts' distribution mu of the data D^ref_mu of "
                        "Thm 6.1 and Props C.31, C.33, a rewardcert/mu-1 file or 'uniform' (default: the "
                        "model's initial distribution; the regret always uses it)")
    p.add_argument("--horizon", type=int, metavar="T",
                   help="add App. D.3's rows (Prop D.15, Lemma D.17) over trajectories of T steps")
    p.add_argument("--policy", metavar="POL",
                   help="with --horizon: the data-sampling policy (rewardcert/policy-1; default uniform)")
    p.add_argument("--estimate", metavar="RHAT",
                   help="with --horizon: a model file whose reward is R^ (default: the exact engine's "
                        "witness at eps*(D))")


@command("theorems", "run every applicable result of the paper on an instance (section 3, and with "
         "options sections 4-6 and the appendix's checkable results), next to the toolkit's own exact "
         "threshold (Theorem E) and safest D, which are labelled as the toolkit's (exit 4 if a "
         "conclusion, or a lemma's, disagrees with the exact truth)", configure)
def run(args: argparse.Namespace) -> int:
    if args.out:
        _check_out_directory(args.out)
    _check_options(args)
    out_dir, args.out = args.out, None      # load_instance checks a certificate --out; this one is a DIR
    error, args.error = args.error, "absolute"   # load_instance knows the certify errors only
    instance = load_instance(args)
    args.error = error
    loaded, data = instance.loaded, instance.data
    args.out = out_dir
    extras = _load_extras(args, loaded)
    report = theorem_instances(loaded.mdp, data, args.epsilon, args.regret, name=loaded.mdp.name or loaded.path)
    report = _with_appendix_rows(args, loaded.mdp, data, report)
    constants = None
    if args.lam is not None:
        report, constants = _with_regularised_rows(args, loaded.mdp, data, report, extras.get("mu"))
    if args.horizon is not None:
        report, choice = _with_choice_rows(args, loaded.mdp, data, report, extras)
        constants = {**(constants or {}), "choice": choice}
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
        out = [f"{report.model}: the paper's results on this instance ({sections_text(report.checks)}), eps = "
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
            out.append("DISAGREEMENT: a conclusion contradicts the exact truth (a bug here or in the paper): "
                       + ", ".join(c.result for c in report.disagreements)
                       + " (a lemma's row is a counterexample to that lemma, in the convention it names)")
        print("\n".join(out))
    return EXIT_DISAGREEMENT if report.disagreements else EXIT_OK


def _check_options(args: argparse.Namespace) -> None:
    """Combinations refused before any work (exit 2)."""
    from rewardcert.symbolic.core.errors import ModelError
    if args.mu is not None and args.lam is None:
        raise ModelError("--mu is the contexts' distribution of D^ref_mu in the RLHF rows, which need --lambda",
                         entry="--mu")
    for flag in ("policy", "estimate"):
        if getattr(args, flag) is not None and args.horizon is None:
            raise ModelError(f"--{flag} belongs to App. D.3's rows, which need --horizon", entry=f"--{flag}")


def _load_extras(args: argparse.Namespace, loaded) -> dict:
    """``--mu``, and ``--policy``/``--estimate`` of ``--horizon``, every input checked (exit 2)."""
    from rewardcert.symbolic.core.errors import ModelError
    from rewardcert.symbolic.core.policyfile import load_policy, resolve_mu
    from rewardcert.symbolic.core.policies import uniform_policy
    extras: dict = {}
    mdp = loaded.mdp
    if args.mu is not None:
        if mdp.gamma != 0:
            raise ModelError("--mu applies to the RLHF rows, which are for contextual bandits (gamma = 0)",
                             entry="--mu")
        extras["mu"] = resolve_mu(args.mu, mdp)
    if args.horizon is not None:
        from rewardcert.symbolic.core.io import load_model
        from rewardcert.symbolic.paper.measures import check_estimate
        extras["policy"] = uniform_policy(mdp) if args.policy in (None, "uniform") else load_policy(args.policy, mdp)
        if args.estimate is not None:
            estimate = load_model(args.estimate)
            try:
                check_estimate(mdp, estimate.mdp)
            except RewardcertError as exc:
                raise exc.located(file=args.estimate) from None
            extras["estimate"] = estimate.mdp.reward
    return extras


def _with_regularised_rows(args, mdp, data, report, mu):
    """Add the §4 rows (Prop 4.1, Thm 4.2), App. C's lemmas and, on bandits, §6's; return their constants."""
    import dataclasses

    from rewardcert.symbolic.core.policyfile import resolve_reference

    from ..theorem_checks.appendix import soft_lemma_checks
    from ..theorem_checks.regularised import regularised_checks
    certificates = dict(report.certificates)
    reference = resolve_reference(args.reference, mdp)
    rows, constants = regularised_checks(mdp, data, args.epsilon, args.regret, args.lam, reference, certificates,
                                         squared=args.error == "squared")
    more, lemma_constants = soft_lemma_checks(mdp, args.regret, args.lam, reference)
    rows += more
    constants["lemmas"] = lemma_constants
    if mdp.gamma == 0:
        from ..theorem_checks.regularised import rlhf_checks
        more, rlhf_constants = rlhf_checks(mdp, args.epsilon, args.regret, args.lam, reference, mu)
        rows += more
        constants["rlhf"] = rlhf_constants
    return dataclasses.replace(report, checks=report.checks + tuple(rows), certificates=certificates), constants


def _with_appendix_rows(args, mdp, data, report):
    """Thm D.11's claims on the exact witness (every run), and App. B.3's rows with ``--error squared``."""
    import dataclasses

    from ..theorem_checks.appendix import theorem_d11_check
    rows = [theorem_d11_check(mdp, data, report.regret_bound)]
    certificates = dict(report.certificates)
    if args.error == "squared":
        from ..theorem_checks.squared import squared_checks
        more, _ = squared_checks(mdp, data, report.epsilon, report.regret_bound, report.critical_epsilon,
                                 certificates)
        rows += more
    return dataclasses.replace(report, checks=report.checks + tuple(rows), certificates=certificates)


def _with_choice_rows(args, mdp, data, report, extras):
    """App. D.3's rows at ``U = L``; ``R̂`` is ``--estimate`` or the exact engine's witness."""
    import dataclasses

    from rewardcert.symbolic.search.engine import critical_epsilon

    from ..theorem_checks.appendix import choice_checks
    estimate = extras.get("estimate")
    if estimate is None:
        witness = critical_epsilon(mdp, data, args.regret).witness
        estimate = mdp.reward if witness is None else witness.reward
    rows, constants = choice_checks(mdp, extras["policy"], estimate, args.horizon, args.regret)
    return dataclasses.replace(report, checks=report.checks + tuple(rows)), constants


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
