"""Catastrophic Goodhart on one instance or a family: the quantities of ``heavy_tails`` and the claims
of Kwa, Thomas and Garriga-Alonso (NeurIPS 2024), each read finitely and decided rigorously.

The claims (docs/heavy-tails.md, "Claims"), with the paper's theorem numbers:

* ``thm1`` (Thm 1's construction): ``P_t`` has proxy gain ``> M`` at ``KL < ε``.  On finite members
  it is *reached* or *not reached*; neither is a counterexample (the theorem is about a limit).
* ``thm3-one-sided`` (Thm 3 as corrected by the toolkit): a policy's true gain is at most
  ``C(d) = sup{E_P V − E_Q V : KL(P ‖ Q) ≤ d}`` at its own KL ``d``, certified by a Donsker-Varadhan
  ceiling; ``C(d) → 0`` as ``d → 0`` for light-tailed ``V``.
* ``thm3-two-sided`` (Thm 3 as printed, finite reading): also ``E_Q V − E_P V ≤ C(d)``.  False in
  general (the toolkit's erratum); a failure is a counterexample.
* ``thm4`` (finite analogue): when ``X`` and ``V`` are independent under ``Q`` in every context, the
  soft optimum's true gain is ``> 0`` unless ``V`` is constant (then exactly 0).
* ``thm5-6`` (finite analogue of the conditioning results): under the same independence,
  ``E_Q[V | U ≥ T] ≥ E_Q V`` in every context where ``U ≥ T`` has positive mass (Harris).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

from ..core.errors import ModelError
from ..core.numbers import exact_arguments
from ..rigorous.enclosures import Enclosure
from .heavy_tails import (
    Condition,
    Construction,
    DonskerVaradhan,
    TailBandit,
    Tilt,
    TiltBracket,
    affine_slope,
    bandit_from_model,
    ceiling_candidates,
    condition,
    construction,
    context_condition,
    donsker_varadhan,
    exact_enclosure,
    independent,
    soft_optimum,
    tilt_bracket,
)
from .tail_families import Family, member, parse_family

HOLDS, FAILS, UNDECIDED, NOT_APPLICABLE = "holds", "fails", "undecided", "not applicable"
REACHED, NOT_REACHED = "reached", "not reached"


@dataclass(frozen=True)
class GoodhartOptions:
    """What to compute besides the soft optimum at ``beta``."""

    beta: Fraction
    kl_budget: Fraction | None = None
    construct: tuple[Fraction, Fraction] | None = None      # (t, c)
    target: tuple[Fraction, Fraction] | None = None         # (M, ε) for Thm 1
    condition: Fraction | None = None

    def __post_init__(self) -> None:
        if self.beta <= 0:
            raise ModelError("beta must be > 0", entry="--beta")
        if self.kl_budget is not None and self.kl_budget <= 0:
            raise ModelError("the KL budget must be > 0", entry="--kl-budget")
        if self.construct is not None:
            t, c = self.construct
            if not 0 < c < t:
                raise ModelError("--construct T,C needs 0 < C < T (C/T is the mass put on {X >= T})",
                                 entry="--construct")
        if self.target is not None:
            if self.construct is None:
                raise ModelError("--target M,EPS checks Thm 1's construction: give --construct T,C too",
                                 entry="--target")
            if self.target[1] <= 0:
                raise ModelError("--target M,EPS needs EPS > 0", entry="--target")


@dataclass(frozen=True)
class KLBudget:
    """The best proxy and true gains within ``KL ≤ budget`` (tilt brackets) and the DV ceiling."""

    budget: Fraction
    proxy: TiltBracket
    true: TiltBracket
    donsker_varadhan: DonskerVaradhan


@dataclass(frozen=True)
class Claim:
    """One claim on the instance: its key, the paper's label, the policy it is about, its status,
    and the evidence that decided it (replayed by the checker)."""

    key: str
    label: str
    statement: str
    status: str
    detail: str
    policy: str | None = None
    ceiling: DonskerVaradhan | None = None
    slope: Fraction | None = None
    bracket: TiltBracket | None = None

    @property
    def counterexample(self) -> bool:
        return self.status == FAILS


@dataclass(frozen=True)
class GoodhartReport:
    """Everything ``rewardcert goodhart`` reports on one instance; ``complete`` is False when a
    budget or an interrupt stopped it (the parts computed are then still certified)."""

    name: str
    options: GoodhartOptions
    n_contexts: int
    n_outputs: int
    reference_true_mean: Fraction
    reference_proxy_mean: Fraction
    soft_optimum: Tilt
    kl_budget: KLBudget | None
    construction: Construction | None
    condition: Condition | None
    claims: tuple[Claim, ...]
    complete: bool = True

    @property
    def counterexamples(self) -> tuple[Claim, ...]:
        return tuple(c for c in self.claims if c.counterexample)

    @property
    def undecided(self) -> tuple[Claim, ...]:
        return tuple(c for c in self.claims if c.status == UNDECIDED)


# -- the claims ---------------------------------------------------------------------------------------

def _number(value: Fraction) -> str:
    """A parameter for a statement: exact when short, else 6 digits."""
    from ..core.numbers import approximate, format_rational
    text = format_rational(value)
    return text if len(text) <= 24 else f"~{approximate(value, 6)}"


def _thm1(built: Construction | None, target: tuple[Fraction, Fraction]) -> Claim:
    m, eps = target
    statement = f"P_t has proxy gain > {_number(m)} at KL < {_number(eps)}"
    if built is None:
        return Claim("thm1", "Thm 1 (construction)", statement, NOT_APPLICABLE,
                     "no context has 0 < Q(X >= t) < 1, so P_t is Q", "construction")
    if built.proxy_gain > m and built.kl.upper < eps:
        status = REACHED
    elif built.proxy_gain <= m or built.kl.lower >= eps:
        status = NOT_REACHED
    else:
        status = UNDECIDED
    return Claim("thm1", "Thm 1 (construction)", statement, status,
                 "on a finite member this is reached or not; the theorem is about the limit", "construction")


def _common_slope(bandit: TailBandit) -> Fraction | None:
    """``c > 0`` when ``U = cV + b_s`` in every context with ``V`` non-constant, and ``U`` is constant
    wherever ``V`` is: then the soft optimum is the true-reward tilt at ``λ = c/β``."""
    found = None
    for context in bandit.contexts:
        slope = affine_slope(context)
        if slope is None:
            return None
        if slope == 0:
            if len(set(context.proxy)) != 1:
                return None
            continue
        if found is not None and slope != found:
            return None
        found = slope
    return found


def _thm3(bandit: TailBandit, policy: str, gain: Enclosure, kl: Enclosure, beta: Fraction, stop) -> list[Claim]:
    """Both readings of Thm 3 for one policy with true gain ``gain`` and KL ``kl``."""
    bracket = tilt_bracket(bandit, "true", kl.lower, kl.upper, stop=stop)
    best = bracket.best
    slope = _common_slope(bandit) if policy == "soft_optimum" else None
    one = "E_P V - E_Q V <= C(d), the largest true gain at KL <= d = KL(P || Q)"
    ceiling = None
    if slope is not None:
        status, detail = HOLDS, f"with equality: the soft optimum is the tilt Q e^(lambda V), lambda = {slope / beta}"
    elif bracket.saturated and gain.upper <= bracket.largest_gain:
        status, detail = HOLDS, "d reaches the argmax's KL, where C(d) is the largest gain"
    else:
        ceiling = donsker_varadhan(bandit, kl.upper, ceiling_candidates(bracket))
        if gain.upper <= ceiling.ceiling:
            status, detail = HOLDS, (f"Donsker-Varadhan at lambda = {float(ceiling.lam):.6g}: "
                                     f"C(d) <= {float(ceiling.ceiling):.6g}")
        elif gain.lower > best.upper:
            status, detail = FAILS, f"the gain exceeds C(d) <= {float(best.upper):.6g}"
        else:
            status, detail = UNDECIDED, "the enclosures overlap the ceiling"
    claims = [Claim("thm3-one-sided", "Thm 3 (corrected, one-sided)", one, status, detail, policy, ceiling,
                    slope)]
    two = "also E_Q V - E_P V <= C(d): the drop bounded like the rise (the toolkit's finite reading)"
    drop_lower, drop_upper = -gain.upper, -gain.lower
    floor = max(Fraction(0), best.lower)
    if drop_upper <= floor:
        status, detail = HOLDS, "the drop is at most C(d)"
    elif drop_lower > best.upper:
        status, detail = FAILS, (f"the drop E_Q V - E_P V >= {float(drop_lower):.6g} exceeds C(d) <= "
                                 f"{float(best.upper):.6g} at KL <= {float(kl.upper):.6g}; only the upper side holds")
    else:
        status, detail = UNDECIDED, "the enclosures overlap C(d)"
    claims.append(Claim("thm3-two-sided", "Thm 3 as printed (two-sided)", two, status, detail, policy,
                        bracket=bracket))
    return claims


def _thm4(bandit: TailBandit, soft: Tilt) -> Claim:
    statement = "X, V independent under Q => the soft optimum's true gain is > 0 (0 if V is constant)"
    label = "Thm 4 (finite analogue)"
    if not all(independent(c) for c in bandit.contexts):
        return Claim("thm4", label, statement, NOT_APPLICABLE, "X and V are not independent under Q")
    limit = bandit.largest_gain("true")
    if all(len(set(c.true)) == 1 for c in bandit.contexts):
        return Claim("thm4", label, statement, HOLDS, "V is constant: every gain is exactly 0")
    if soft.true_gain.lower > 0:
        status = HOLDS
    elif soft.true_gain.upper <= 0:
        status = FAILS
    else:
        status = UNDECIDED
    return Claim("thm4", label, statement, status,
                 f"as beta -> 0 the gain rises to max V - E_Q V = {limit} (~ {float(limit):.6g})")


def _thm56(bandit: TailBandit, threshold: Fraction) -> Claim:
    statement = f"X, V independent under Q => E_Q[V | U >= {_number(threshold)}] >= E_Q V in every context"
    label = "Thms 5-6 (finite analogue)"
    if not all(independent(c) for c in bandit.contexts):
        return Claim("thm5-6", label, statement, NOT_APPLICABLE, "X and V are not independent under Q")
    seen = False
    for c in bandit.contexts:
        mass, total = context_condition(c, threshold)
        if mass:
            seen = True
            if total < mass * c.true_mean:
                return Claim("thm5-6", label, statement, FAILS, f"counterexample in context {c.name}")
    if not seen:
        return Claim("thm5-6", label, statement, NOT_APPLICABLE, "no output has U >= T")
    return Claim("thm5-6", label, statement, HOLDS, "exact (Harris's inequality)")


# -- one instance ---------------------------------------------------------------------------------------

def _stopped(stop) -> bool:
    return stop is not None and stop()


def analyse(bandit: TailBandit, options: GoodhartOptions, *, stop: Callable[[], bool] | None = None) -> GoodhartReport:
    """The soft optimum at ``β``, then (as asked) the KL budget, ``P_t``, the conditional mean and the
    claims; a ``stop()`` that turns true leaves the rest out (``complete`` False)."""
    soft = soft_optimum(bandit, options.beta)
    budget = built = cond = None
    claims: list[Claim] = []
    complete = True
    steps = []
    if options.kl_budget is not None:
        steps.append("budget")
    if options.construct is not None:
        steps.append("construct")
    if options.condition is not None:
        steps.append("condition")
    steps.append("claims")
    for step in steps:
        if _stopped(stop):
            complete = False
            break
        if step == "budget":
            proxy = tilt_bracket(bandit, "proxy", options.kl_budget, stop=stop)
            true = tilt_bracket(bandit, "true", options.kl_budget, stop=stop)
            dv = donsker_varadhan(bandit, options.kl_budget, ceiling_candidates(true))
            budget = KLBudget(options.kl_budget, proxy, true, dv)
        elif step == "construct":
            built = construction(bandit, *options.construct)
        elif step == "condition":
            cond = condition(bandit, options.condition)
        else:
            complete = _claims(bandit, options, soft, built, claims, stop)
    return GoodhartReport(bandit.name, options, len(bandit.contexts), bandit.n_outputs,
                          bandit.reference_mean("true"), bandit.reference_mean("proxy"), soft, budget, built,
                          cond, tuple(claims), complete and not _stopped(stop))


def _claims(bandit, options, soft, built, claims: list, stop) -> bool:
    if options.target is not None:
        claims.append(_thm1(built, options.target))
    policies = [("soft_optimum", soft.true_gain, soft.kl)]
    if built is not None:
        policies.append(("construction", exact_enclosure(built.true_gain), built.kl))
    for policy, gain, kl in policies:
        if _stopped(stop):
            return False
        claims.extend(_thm3(bandit, policy, gain, kl, options.beta, stop))
    claims.append(_thm4(bandit, soft))
    if options.condition is not None:
        claims.append(_thm56(bandit, options.condition))
    return True


# -- a family ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FamilyReport:
    """One report per size, in the order asked; ``complete`` is False when a budget stopped the sweep
    (the rows computed are certified)."""

    family: Family
    sizes: tuple[int, ...]
    rows: tuple[tuple[int, GoodhartReport], ...]
    complete: bool

    @property
    def counterexamples(self) -> list[tuple[int, Claim]]:
        return [(n, c) for n, report in self.rows for c in report.counterexamples]

    @property
    def undecided(self) -> list[tuple[int, Claim]]:
        return [(n, c) for n, report in self.rows for c in report.undecided]


def check_sizes(family: Family, sizes: Sequence[int]) -> tuple[int, ...]:
    from .tail_families import check_size
    sizes = tuple(sizes)
    if not sizes:
        raise ModelError("give at least one size", entry="--sizes")
    if len(set(sizes)) != len(sizes):
        raise ModelError("the sizes must be distinct", entry="--sizes")
    for n in sizes:
        check_size(family, n)
    return sizes


def analyse_family(family: Family, sizes: Sequence[int], options: GoodhartOptions, *,
                   stop: Callable[[], bool] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> FamilyReport:
    sizes = check_sizes(family, sizes)
    rows = []
    for i, n in enumerate(sizes):
        if _stopped(stop):
            break
        report = analyse(member(family, n), options, stop=stop)
        if not report.complete:
            break
        rows.append((n, report))
        if progress is not None:
            progress(i + 1, len(sizes))
    return FamilyReport(family, sizes, tuple(rows), len(rows) == len(sizes))


# -- the Python API ----------------------------------------------------------------------------------------

def _pair(value, name: str) -> tuple[Fraction, Fraction] | None:
    if value is None:
        return None
    if len(value) != 2:
        raise ModelError(f"{name} needs two numbers", entry=name)
    return tuple(value)


@exact_arguments("beta", "kl_budget", "condition", vectors=("estimate", "construct", "target"))
def goodhart_instance(mdp, estimate: Sequence[Fraction], beta: Fraction, *, reference=None,
                      kl_budget: Fraction | None = None, construct: Sequence[Fraction] | None = None,
                      target: Sequence[Fraction] | None = None, condition: Fraction | None = None) -> GoodhartReport:
    """Catastrophic Goodhart on a contextual bandit ``mdp`` (``γ = 0``; its reward is the true ``V``)
    with the proxy ``estimate`` (``U``, one number per pair) and a full-support ``reference`` ``Q``
    (default uniform): the soft optimum at ``beta`` and, as asked, the KL budget, ``P_t``
    (``construct = (t, c)``, Thm 1's ``target = (M, ε)``), ``E[V | U ≥ condition]`` and the claims."""
    from ..core.policies import check_reference, uniform_policy
    from ..regularised.preference import check_bandit
    check_bandit(mdp)
    if len(estimate) != mdp.n_pairs:
        raise ModelError(f"the estimate needs {mdp.n_pairs} numbers, one per state-action pair", entry="estimate")
    reference = uniform_policy(mdp) if reference is None else check_reference(mdp, reference)
    options = GoodhartOptions(beta, kl_budget, _pair(construct, "construct"), _pair(target, "target"), condition)
    return analyse(bandit_from_model(mdp, estimate, reference), options)


@exact_arguments("beta", "kl_budget", "condition", vectors=("construct", "target"))
def goodhart_family(family: str, sizes: Sequence[int], beta: Fraction, *, kl_budget: Fraction | None = None,
                    construct: Sequence[Fraction] | None = None, target: Sequence[Fraction] | None = None,
                    condition: Fraction | None = None) -> FamilyReport:
    """The same on each member of a family (``"power:2"``, ``"subgauss"``, ``"product:2"``,
    ``"pareto:2"``; docs/heavy-tails.md) at the given sizes."""
    options = GoodhartOptions(beta, kl_budget, _pair(construct, "construct"), _pair(target, "target"), condition)
    return analyse_family(parse_family(family), [int(n) for n in sizes], options)
