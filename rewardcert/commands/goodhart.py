"""``rewardcert goodhart``: catastrophic Goodhart (heavy-tailed reward error under a KL penalty) on one
bandit or on a family of growing bandits, certified (docs/heavy-tails.md)."""

from __future__ import annotations

import argparse
import os

from rewardcert.symbolic.core.errors import ModelError
from rewardcert.symbolic.core.numbers import approximate, format_rational, with_decimal

from . import (
    EXIT_DISAGREEMENT,
    EXIT_OK,
    EXIT_UNKNOWN,
    add_json_argument,
    add_out_argument,
    command,
    print_json,
    rational_arg,
    search_exit_status,
    table,
)

MAX_SIZES = 1000


def _pair_arg(name: str, first: str, second: str):
    """argparse type for ``A,B`` (two exact rationals)."""
    single = rational_arg(name)

    def convert(text: str):
        parts = text.split(",")
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(f"expected {first},{second} (two numbers separated by a comma)")
        return single(parts[0].strip()), single(parts[1].strip())
    return convert


def _sizes_arg(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected sizes N1,N2,... (positive integers)") from None
    if not sizes or len(sizes) > MAX_SIZES:
        raise argparse.ArgumentTypeError(f"give between 1 and {MAX_SIZES} sizes")
    return sizes


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", nargs="?", metavar="MODEL",
                   help="a contextual bandit (gamma = 0; its reward is the true reward V); or use --family")
    p.add_argument("--estimate", metavar="U", help="a model file whose reward is the proxy U (with MODEL)")
    p.add_argument("--reference", metavar="Q", help="the reference policy Q: a rewardcert/policy-1 file or "
                   "'uniform' (default; with MODEL)")
    p.add_argument("--beta", required=True, type=rational_arg("--beta"), metavar="B",
                   help="the KL penalty beta > 0: the soft optimum is Q e^(U/beta), normalised per context")
    p.add_argument("--kl-budget", type=rational_arg("--kl-budget"), metavar="E",
                   help="the largest proxy and true gains within KL <= E (tilts bracketed by rationals) and "
                        "the Donsker-Varadhan ceiling on the true gain")
    p.add_argument("--construct", type=_pair_arg("--construct", "T", "C"), metavar="T,C",
                   help="Thm 1's policy P_t: mass C/T on {X >= T}, X = U - V, in proportion to Q")
    p.add_argument("--target", type=_pair_arg("--target", "M", "EPS"), metavar="M,EPS",
                   help="with --construct: check Thm 1's goal, proxy gain > M at KL < EPS")
    p.add_argument("--condition", type=rational_arg("--condition"), metavar="T", help="E[V | U >= T], exactly")
    p.add_argument("--family", metavar="NAME:PARAMS",
                   help="a family instead of MODEL: power:ALPHA, subgauss, product:ALPHA, product:subgauss "
                        "or pareto:ALPHA (docs/heavy-tails.md)")
    p.add_argument("--sizes", type=_sizes_arg, metavar="N1,N2,...", help="with --family: the members' sizes N")
    p.add_argument("--write-instances", metavar="DIR",
                   help="with --family: write each member as a model, an estimate and a reference file in DIR")
    p.add_argument("--plot", metavar="FILE.png",
                   help="with --family: draw the true gain and the KL against N, with the family of --against "
                        "(needs matplotlib)")
    p.add_argument("--against", metavar="NAME:PARAMS",
                   help="the family drawn beside --family's (default: its light or heavy counterpart)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="stop after S seconds and report (and certify) what was computed")
    add_json_argument(p)
    add_out_argument(p)


# -- formatting ------------------------------------------------------------------------------------

def _interval(enclosure) -> dict:
    return {"lower": format_rational(enclosure.lower), "upper": format_rational(enclosure.upper)}


def _text(enclosure, digits: int = 15) -> str:
    """``mid ± half-width`` of an enclosure (exact ends in --json and the certificate)."""
    if enclosure.lower == enclosure.upper:
        return with_decimal(enclosure.lower, longest=40)
    if enclosure.lower < 0 < enclosure.upper:
        return f"0 ± {approximate(max(-enclosure.lower, enclosure.upper), 2)} (an enclosure holding 0)"
    middle, half = (enclosure.lower + enclosure.upper) / 2, (enclosure.upper - enclosure.lower) / 2
    return f"{approximate(middle, digits)} ± {approximate(half, 2)}"


def _exact(value) -> str:
    return "n/a" if value is None else with_decimal(value, longest=40)


def instance_json(report) -> dict:
    soft = report.soft_optimum
    out: dict = {"soft_optimum": {"true_gain": _interval(soft.true_gain), "proxy_gain": _interval(soft.proxy_gain),
                                  "kl": _interval(soft.kl)}}
    if report.kl_budget is not None:
        budget = report.kl_budget
        out["kl_budget"] = {"budget": format_rational(budget.budget), "best_proxy_gain": _interval(budget.proxy.best),
                            "best_true_gain": _interval(budget.true.best),
                            "donsker_varadhan": format_rational(budget.donsker_varadhan.ceiling)}
    if report.options.construct is not None:
        built = report.construction
        out["construction"] = None if built is None else {
            "proxy_gain": format_rational(built.proxy_gain), "true_gain": format_rational(built.true_gain),
            "kl": _interval(built.kl)}
    if report.condition is not None:
        mean = report.condition.true_mean
        out["condition"] = {"threshold": format_rational(report.condition.threshold),
                            "true_mean": None if mean is None else format_rational(mean)}
    return out


def _bracket_text(bracket, reward: str) -> str:
    if bracket.saturated:
        return "(the argmax-restricted policy fits the budget: the largest possible gain)"
    high = "inf" if bracket.lambda_high is None else approximate(bracket.lambda_high, 12)
    return f"(tilt Q e^(lambda {reward}), lambda in [{approximate(bracket.lambda_low, 12)}, {high}])"


def claim_lines(claims, prefix: str = "") -> list[str]:
    rows = [(c.label, c.policy or "", c.status.upper() if c.status == "fails" else c.status, c.detail)
            for c in claims]
    lines = table(rows, ("claim", "policy", "status", "why")) if rows else []
    lines += [f"  {c.label}: {c.statement}" for c in _unique(claims)]
    return [prefix + line for line in lines]


def _unique(claims):
    seen = set()
    for c in claims:
        if c.key not in seen:
            seen.add(c.key)
            yield c


def instance_lines(report, header: str) -> list[str]:
    soft = report.soft_optimum
    beta = format_rational(report.options.beta)
    out = [header,
           f"soft optimum pi*_beta ∝ Q e^(U/beta), beta = {beta}:",
           f"  true gain   E V - E_Q V   {_text(soft.true_gain)}",
           f"  proxy gain  E U - E_Q U   {_text(soft.proxy_gain)}",
           f"  KL(pi* || Q)              {_text(soft.kl)}"]
    if report.kl_budget is not None:
        b = report.kl_budget
        out += [f"within KL <= {with_decimal(b.budget)}:",
                f"  largest proxy gain  {_text(b.proxy.best)} {_bracket_text(b.proxy, 'U')}",
                f"  largest true gain   {_text(b.true.best)} {_bracket_text(b.true, 'V')}",
                "  Donsker-Varadhan ceiling on the true gain: <= "
                f"{with_decimal(b.donsker_varadhan.ceiling, longest=40)} "
                f"at lambda = {approximate(b.donsker_varadhan.lam, 6)}"]
    if report.options.construct is not None:
        t, c = report.options.construct
        built = report.construction
        out.append(f"Thm 1's construction P_t, t = {format_rational(t)}, c = {format_rational(c)} "
                   f"(mass c/t on {{X >= t}}, X = U - V, in proportion to Q):")
        if built is None:
            out.append("  P_t is Q: no context has 0 < Q(X >= t) < 1")
        else:
            out += [f"  proxy gain {_exact(built.proxy_gain)}", f"  true gain  {_exact(built.true_gain)}",
                    f"  KL(P_t || Q) {_text(built.kl)}   (Q(X >= t) = {_exact(built.tail_mass)})"]
    if report.condition is not None:
        cond = report.condition
        out.append(f"E[V | U >= {format_rational(cond.threshold)}] = {_exact(cond.true_mean)}"
                   f"   (E_Q V = {_exact(cond.reference_mean)}, P(U >= T) = {_exact(cond.mass)})")
    if report.claims:
        out.append("claims (Kwa, Thomas, Garriga-Alonso 2024; finite readings, docs/heavy-tails.md):")
        out += claim_lines(report.claims, "  ")
    for c in report.counterexamples:
        out.append(f"COUNTEREXAMPLE to {c.label} on {c.policy or 'the instance'}: {c.detail}")
    return out


def family_json(report) -> dict:
    return {"family": report.family.label,
            "rows": [{"size": n, "true_gain": _interval(r.soft_optimum.true_gain),
                      "proxy_gain": _interval(r.soft_optimum.proxy_gain), "kl": _interval(r.soft_optimum.kl)}
                     for n, r in report.rows]}


def _short(enclosure) -> str:
    """11 digits of an enclosure; one that holds 0 shows as ``0 ± w``: its width is then all it says."""
    if enclosure.lower < 0 < enclosure.upper:
        return f"0 ± {approximate(max(-enclosure.lower, enclosure.upper), 2)}"
    middle = (enclosure.lower + enclosure.upper) / 2
    return approximate(middle, 11)


def family_lines(report, options) -> list[str]:
    family = report.family
    out = [f"family {family.label}: {family.rule()}",
           f"beta = {format_rational(options.beta)}; soft optimum pi*_beta ∝ Q e^(U/beta); every value an enclosure "
           "(its exact ends in --json and the certificate), shown to 11 digits"]
    header = ["N", "outputs", "true gain", "proxy gain", "KL"]
    if options.construct is not None:
        header += ["P_t true gain", "P_t KL"]
    if options.condition is not None:
        header.append(f"E[V|U>={format_rational(options.condition)}]")
    header.append("claims")
    rows = []
    for n, r in report.rows:
        soft = r.soft_optimum
        row = [str(n), str(family.outputs(n)), _short(soft.true_gain), _short(soft.proxy_gain), _short(soft.kl)]
        if options.construct is not None:
            built = r.construction
            row += ["n/a", "n/a"] if built is None else [approximate(built.true_gain, 8), _short(built.kl)]
        if options.condition is not None:
            mean = r.condition.true_mean
            row.append("n/a" if mean is None else approximate(mean, 8))
        row.append(_claims_summary(r.claims))
        rows.append(row)
    out += table(rows, header)
    out += [f"  {c.label}: {c.statement}" for c in _unique([c for _, r in report.rows for c in r.claims])]
    for n, c in report.counterexamples:
        out.append(f"COUNTEREXAMPLE (N = {n}) to {c.label} on {c.policy or 'the instance'}: {c.detail}")
    return out


_SHORT = {"thm1": "T1", "thm3-one-sided": "T3", "thm3-two-sided": "T3p", "thm4": "T4", "thm5-6": "T56"}
_MARK = {"holds": "ok", "fails": "FAIL", "undecided": "?", "not applicable": "-", "reached": "yes",
         "not reached": "no"}


def _claims_summary(claims) -> str:
    return " ".join(f"{_SHORT[c.key]}{'' if c.policy != 'construction' else '(P_t)'}:{_MARK[c.status]}"
                    for c in claims)


# -- running --------------------------------------------------------------------------------------

def _options(args: argparse.Namespace):
    from rewardcert.symbolic.optimisers.goodhart import GoodhartOptions
    return GoodhartOptions(args.beta, args.kl_budget, args.construct, args.target, args.condition)


def _check_mode(args: argparse.Namespace) -> None:
    """MODEL and --family exclude each other; each mode's options need it."""
    if args.family is None:
        if args.model is None:
            raise ModelError("give MODEL (with --estimate U) or --family NAME:PARAMS --sizes N1,N2,...")
        if args.estimate is None:
            raise ModelError("MODEL needs --estimate U, a model file whose reward is the proxy", entry="--estimate")
        for flag, value in (("--sizes", args.sizes), ("--write-instances", args.write_instances),
                            ("--plot", args.plot), ("--against", args.against)):
            if value is not None:
                raise ModelError(f"{flag} goes with --family", entry=flag)
        return
    for flag, value in (("MODEL", args.model), ("--estimate", args.estimate), ("--reference", args.reference)):
        if value is not None:
            raise ModelError(f"{flag} is for one instance; --family generates its own", entry=flag)
    if args.sizes is None:
        raise ModelError("--family needs --sizes N1,N2,...", entry="--sizes")
    if args.against is not None and args.plot is None:
        raise ModelError("--against goes with --plot", entry="--against")


def _exit_status(args, counterexamples, undecided, complete: bool) -> int:
    if counterexamples:
        return EXIT_DISAGREEMENT
    if not complete:
        return search_exit_status(args, EXIT_UNKNOWN)
    return EXIT_UNKNOWN if undecided else EXIT_OK


@command("goodhart", "catastrophic Goodhart: KL-regularised optimisation under heavy-tailed reward error "
         "(Kwa et al. 2024), certified on one bandit or on a family of growing ones (exit 4: a counterexample)",
         configure)
def run(args: argparse.Namespace) -> int:
    from .. import engine
    engine.check_parameters(args)
    _check_mode(args)
    options = _options(args)
    if args.family is not None:
        return _run_family(args, options)
    instance = engine.load_bandit_instance(args)
    from rewardcert.symbolic.optimisers.heavy_tails import bandit_from_model
    bandit = bandit_from_model(instance.mdp, instance.estimate, instance.policy)
    report = engine.goodhart_analysis(args, options, bandit=bandit)
    certificate_line = None
    if args.out:
        certificate_line = _write_instance_certificate(args, instance, report)
    if args.json:
        print_json(instance_json(report), "goodhart")
    else:
        header = (f"{instance.name}: {len(bandit.contexts)} context(s) weighted by mu0, {bandit.n_outputs} outputs; "
                  f"V = the model's reward, U = {instance.estimate_path}, Q = {args.reference or 'uniform'}")
        lines = instance_lines(report, header)
        if not report.complete:
            lines.append(_stopped_note(args, "the parts above were computed before it stopped; the rest was not"))
        if certificate_line:
            lines.append(certificate_line)
        print("\n".join(lines))
    return _exit_status(args, report.counterexamples, report.undecided, report.complete)


def _stopped_note(args, what: str) -> str:
    interrupts = getattr(args, "interrupts", None)
    why = interrupts.name if interrupts is not None and interrupts.stop_requested() else \
        f"--timeout {args.timeout:g} ran out" if args.timeout is not None else "stopped"
    return f"{why}: {what}"


def _write_instance_certificate(args, instance, report) -> str:
    from .. import engine
    from ..certificates import not_replayed
    from ..certificates.heavy_tails import heavy_tails_certificate
    if not report.complete:
        return "certificate: none written (the analysis stopped before its claims were decided)"
    document = heavy_tails_certificate(instance.mdp, instance.estimate, instance.policy, report)
    replayed = engine.write_certificate(args, document)
    return f"certificate: {args.out} (verified by proofs/checker.py)" if replayed else \
        f"certificate: {args.out} ({not_replayed(args.out)})"


def _run_family(args: argparse.Namespace, options) -> int:
    from rewardcert.symbolic.optimisers.goodhart import check_sizes
    from rewardcert.symbolic.optimisers.tail_families import parse_family

    from .. import engine
    from ..progress import ProgressBar
    family = parse_family(args.family)
    sizes = check_sizes(family, args.sizes)
    against = None
    if args.plot is not None:
        from ..plot.heavy_tails import check_picture, counterpart
        check_picture(args.plot)
        against = parse_family(args.against) if args.against else counterpart(family)
    if args.write_instances is not None:
        _check_instances_dir(args.write_instances, family, sizes)
    engine.check_out_argument(args)
    bar = ProgressBar(f"goodhart {family.label}", min_total=1)
    report = engine.goodhart_analysis(args, options, family=family, sizes=sizes, progress=bar)
    bar.close()
    notes = []
    if args.write_instances is not None:
        notes.append(_write_instances(args.write_instances, family, [n for n, _ in report.rows]))
    if args.plot is not None:
        notes.append(_draw(args, report, against, options))
    if args.out:
        notes.append(_write_family_certificate(args, report))
    if args.json:
        print_json(family_json(report), "goodhart")
    else:
        lines = family_lines(report, options)
        if not report.complete:
            done = ", ".join(str(n) for n, _ in report.rows) or "none"
            lines.append(_stopped_note(args, f"rows computed for N = {done}, of {len(report.sizes)} asked"))
        print("\n".join(lines + [n for n in notes if n]))
    return _exit_status(args, report.counterexamples, report.undecided, report.complete)


def _write_family_certificate(args, report) -> str:
    from .. import engine
    from ..certificates import not_replayed
    from ..certificates.heavy_tails import family_certificate
    if not report.rows:
        return "certificate: none written (no member was computed)"
    replayed = engine.write_certificate(args, family_certificate(report))
    return f"certificate: {args.out} (verified by proofs/checker.py: it regenerated each member)" if replayed \
        else f"certificate: {args.out} ({not_replayed(args.out)})"


def instance_file_names(family, size: int) -> tuple[str, str, str]:
    """The three files of a member: model (``V``), estimate (``U``), reference (``Q``)."""
    stem = family.label.replace(":", "-").replace("/", "_") + f"-N{size}"
    return f"{stem}.json", f"{stem}-estimate.json", f"{stem}-reference.json"


def _check_instances_dir(folder: str, family, sizes) -> None:
    from rewardcert.symbolic.core.model import MAX_ACTIONS
    if not os.path.isdir(folder):
        raise ModelError(f"the folder {folder!r} does not exist (create it first)", entry="--write-instances")
    for n in sizes:
        if family.outputs(n) > MAX_ACTIONS:
            raise ModelError(f"the member N = {n} has {family.outputs(n)} outputs, and model files hold at most "
                             f"{MAX_ACTIONS} actions; leave it out of --sizes to write the others",
                             entry="--write-instances")


def _write_instances(folder: str, family, sizes) -> str:
    import json

    from rewardcert.symbolic.optimisers.tail_families import member_model

    from ..output import write_text
    for n in sizes:
        for name, document in zip(instance_file_names(family, n), member_model(family, n)):
            write_text(os.path.join(folder, name), json.dumps(document, indent=1) + "\n", what="instance")
    model, estimate, reference = instance_file_names(family, sizes[0]) if sizes else ("", "", "")
    return (f"instances: {len(sizes)} member(s) in {folder} (e.g. rewardcert goodhart {os.path.join(folder, model)} "
            f"--estimate {os.path.join(folder, estimate)} --reference {os.path.join(folder, reference)} "
            f"--beta ...)") if sizes else ""


def _draw(args, report, against, options) -> str:
    from rewardcert.symbolic.optimisers.goodhart import analyse_family

    from .. import engine
    from ..plot.heavy_tails import plot_families
    reports = [report]
    if against is not None and report.complete:
        sizes = [n for n in report.sizes if n <= against.max_size]
        if sizes:
            with engine.searching(args) as stop:
                reports.append(analyse_family(against, sizes, options, stop=stop))
    plot_families(reports, args.plot, stdout=getattr(args, "stdout", None))
    return f"picture: {args.plot} (true gain and KL against N: {', '.join(r.family.label for r in reports)})"
