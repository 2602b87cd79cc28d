"""Heavy-tailed reward error under a KL penalty (catastrophic Goodhart): the exact and rigorous
quantities of one contextual bandit.

The setting (docs/heavy-tails.md): contexts ``s`` weighted by ``μ0(s)``; in each, outputs ``a`` with
a true reward ``V(s,a)``, a proxy ``U(s,a)`` and a full-support reference ``Q(a|s)``; the error is
``X = U − V``.  A policy's *gain* in a reward ``T`` is ``Σ_s μ0(s) (E_{π(·|s)} T − E_{Q(·|s)} T)`` and
its KL is ``Σ_s μ0(s) KL(π(·|s) ‖ Q(·|s))``.

Everything here is exact (``Fraction``) or a rigorous enclosure made with ``arb`` balls through
``rigorous/enclosures.py``.  An enclosure leaves this module *widened*: padded by ``2^-PAD_BITS``
of the magnitude of the terms it was computed from and rounded outward to a short dyadic grid, so
that the standalone checker's own 160-bit series reach an enclosure inside it.  Floats appear only
in ``guidance/tilts.py``, which proposes tilt parameters that the enclosures here then verify.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from fractions import Fraction
from typing import Sequence

from ..core.errors import ModelError
from ..rigorous.enclosures import Ball, Enclosure, Precision, ball, bounds

PAD_BITS = 96
"""An enclosure is padded by ``2^-PAD_BITS`` times the magnitude of its terms (``widen``)."""

LAMBDA_BITS = 160
"""Tilt parameters are dyadic rationals with this many significant bits."""


# -- the instance ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    """One context: its weight ``μ0(s) > 0`` and, per output, ``V``, ``U`` and ``Q`` (exact)."""

    name: str
    weight: Fraction
    outputs: tuple[str, ...]
    true: tuple[Fraction, ...]
    proxy: tuple[Fraction, ...]
    reference: tuple[Fraction, ...]

    def __post_init__(self) -> None:
        k = len(self.outputs)
        if not k or len(self.true) != k or len(self.proxy) != k or len(self.reference) != k:
            raise ModelError(f"context {self.name!r}: every output needs V, U and Q")
        if self.weight <= 0:
            raise ModelError(f"context {self.name!r}: its weight mu0 must be > 0")
        if any(q <= 0 for q in self.reference) or sum(self.reference) != 1:
            raise ModelError(f"context {self.name!r}: the reference Q must be positive and sum to 1")

    def column(self, which: str) -> tuple[Fraction, ...]:
        return self.proxy if which == "proxy" else self.true

    def mean(self, values: Sequence[Fraction]) -> Fraction:
        if values is self.true:
            return self.true_mean
        if values is self.proxy:
            return self.proxy_mean
        return sum((q * v for q, v in zip(self.reference, values)), Fraction(0))

    @cached_property
    def true_mean(self) -> Fraction:
        """``E_Q V`` in this context (computed once: a tilt asks for it at every ``λ``)."""
        return sum((q * v for q, v in zip(self.reference, self.true)), Fraction(0))

    @cached_property
    def proxy_mean(self) -> Fraction:
        return sum((q * v for q, v in zip(self.reference, self.proxy)), Fraction(0))

    @cached_property
    def balls(self) -> dict:
        """The context's numbers as balls, made once (a bracket evaluates a dozen tilts): ``Q``,
        ``T − max T`` for both rewards, ``V − E_Q V`` and ``U − E_Q U``, with the scales of the last
        two (for ``widen``)."""
        with Precision():
            top_v, top_u = max(self.true), max(self.proxy)
            return {"reference": [ball(q) for q in self.reference],
                    "true-shift": [ball(v - top_v) for v in self.true],
                    "proxy-shift": [ball(u - top_u) for u in self.proxy],
                    "true-centred": [ball(v - self.true_mean) for v in self.true],
                    "proxy-centred": [ball(u - self.proxy_mean) for u in self.proxy],
                    "true-scale": max(abs(v - self.true_mean) for v in self.true),
                    "proxy-scale": max(abs(u - self.proxy_mean) for u in self.proxy),
                    "true-spread": top_v - min(self.true), "proxy-spread": top_u - min(self.proxy)}

    def flat(self, which: str) -> bool:
        """Is the reward ``which`` constant in this context?"""
        return self.balls[f"{which}-spread"] == 0


@dataclass(frozen=True)
class TailBandit:
    """A contextual bandit with a true reward, a proxy and a reference (contexts with ``μ0 > 0``)."""

    name: str
    contexts: tuple[Context, ...]

    def __post_init__(self) -> None:
        if not self.contexts or sum(c.weight for c in self.contexts) != 1:
            raise ModelError("the context weights mu0 must be positive and sum to 1")

    @property
    def n_outputs(self) -> int:
        return sum(len(c.outputs) for c in self.contexts)

    def reference_mean(self, which: str) -> Fraction:
        """``E_Q T`` (``μ0``-weighted), exactly."""
        return sum((c.weight * c.mean(c.column(which)) for c in self.contexts), Fraction(0))

    def largest_gain(self, which: str) -> Fraction:
        """``Σ_s μ0(s) (max_a T(s,a) − E_Q T)``: no policy gains more (the argmax-restricted one attains it)."""
        return sum((c.weight * (max(c.column(which)) - c.mean(c.column(which))) for c in self.contexts),
                   Fraction(0))


def bandit_from_model(mdp, estimate: Sequence[Fraction], reference) -> TailBandit:
    """The bandit of a model (``γ = 0``; ``V`` its reward), an estimate ``U`` and a reference ``Q``;
    contexts with ``μ0(s) = 0`` are left out (they weigh nothing)."""
    m = mdp.n_actions
    contexts = []
    for s, state in enumerate(mdp.states):
        if mdp.initial[s]:
            contexts.append(Context(state, mdp.initial[s], tuple(mdp.actions),
                                    tuple(mdp.reward[s * m:(s + 1) * m]), tuple(estimate[s * m:(s + 1) * m]),
                                    tuple(reference[s])))
    return TailBandit(mdp.name or "", tuple(contexts))


# -- widened enclosures --------------------------------------------------------------------------

def widen(enclosure: Enclosure, scale: Fraction) -> Enclosure:
    """``enclosure`` padded by ``2^-PAD_BITS · 2^⌈log2 scale⌉`` and rounded outward to a grid 256
    times finer than the pad: short numbers, and room for the checker's own rounding."""
    exponent = max(Fraction(scale), Fraction(1))
    bits = exponent.numerator.bit_length() - exponent.denominator.bit_length() + 1
    pad = Fraction(2) ** (bits - PAD_BITS)
    grid = pad / 256
    lower = math.floor((enclosure.lower - pad) / grid) * grid
    upper = math.ceil((enclosure.upper + pad) / grid) * grid
    return Enclosure(Fraction(lower), Fraction(upper))


def widened(value: Ball, scale: Fraction) -> Enclosure:
    return widen(bounds(value), scale)


def exact_enclosure(value: Fraction) -> Enclosure:
    return Enclosure(value, value)


# -- tilts: Q e^{λT} ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tilt:
    """The tilt ``π(·|s) ∝ Q(·|s) e^{λ T(s,·)}`` (``T`` = the proxy or the true reward) enclosed:
    its true gain, its proxy gain and its KL, each widened; ``slope`` is ``d KL/dλ`` (a guide only)."""

    which: str
    lam: Fraction
    true_gain: Enclosure
    proxy_gain: Enclosure
    kl: Enclosure
    slope: float


def _flat(bandit: TailBandit, which: str) -> bool:
    """Is ``T`` constant in every context?  (Then every policy's gain in ``T`` is exactly 0.)"""
    return all(c.flat(which) for c in bandit.contexts)


def tilt(bandit: TailBandit, which: str, lam: Fraction) -> Tilt:
    """Per context: ``m = max T``, ``w_a = Q_a e^{λ(T_a − m)}``, ``Z = Σ w``; gains ``Σ w (V − E_Q V)/Z``
    (and the same for ``U``); ``KL = λ Σ w (T − m)/Z − log Z``, since ``log(π/Q) = λ(T − m) − log Z``.
    Exact zeros are kept exact: at ``λ = 0`` or a constant ``T`` the tilt is ``Q``, and a constant
    reward has gain 0 under every policy."""
    zero = exact_enclosure(Fraction(0))
    if lam == 0 or _flat(bandit, which):
        return Tilt(which, lam, zero, zero, zero, 0.0)
    found = _tilt_balls(bandit, which, lam)
    return Tilt(which, lam, zero if _flat(bandit, "true") else found.true_gain,
                zero if _flat(bandit, "proxy") else found.proxy_gain, found.kl, found.slope)


def _tilt_balls(bandit: TailBandit, which: str, lam: Fraction) -> Tilt:
    with Precision():
        lam_b = ball(lam)
        gain_v, gain_u, kl, slope = ball(0), ball(0), ball(0), 0.0
        v_scale = u_scale = kl_scale = Fraction(1)
        for c in bandit.contexts:
            b = c.balls
            z, sv, su, st, st2 = ball(0), ball(0), ball(0), ball(0), ball(0)
            for q, shift, v, u in zip(b["reference"], b[f"{which}-shift"], b["true-centred"], b["proxy-centred"]):
                w = q * (lam_b * shift).exp()
                z += w
                sv += w * v
                su += w * u
                ws = w * shift
                st += ws
                st2 += ws * shift
            weight = ball(c.weight)
            gain_v += weight * sv / z
            gain_u += weight * su / z
            log_z = z.log()
            kl += weight * (lam_b * st / z - log_z)
            mean_t = st / z
            slope += float(c.weight) * float(lam) * float((st2 / z - mean_t * mean_t).mid())
            v_scale = max(v_scale, b["true-scale"])
            u_scale = max(u_scale, b["proxy-scale"])
            kl_scale = max(kl_scale, lam * b[f"{which}-spread"] + abs(Fraction(float(log_z.mid()))) + 1)
        kl_enc = widened(kl, kl_scale)
        kl_enc = Enclosure(max(kl_enc.lower, Fraction(0)), max(kl_enc.upper, Fraction(0)))
        return Tilt(which, lam, widened(gain_v, v_scale), widened(gain_u, u_scale), kl_enc, slope)


def soft_optimum(bandit: TailBandit, beta: Fraction) -> Tilt:
    """The KL-regularised optimum ``π*_β(·|s) ∝ Q(·|s) e^{U(s,·)/β}``: the proxy tilt at ``λ = 1/β``."""
    if beta <= 0:
        raise ModelError("beta must be > 0", entry="--beta")
    return tilt(bandit, "proxy", 1 / beta)


def limit_kl(bandit: TailBandit, which: str) -> Enclosure:
    """``Σ_s μ0(s) (−log Q_s(argmax T_s))``, the KL of the argmax-restricted policy: the limit of
    the tilts' KL as ``λ → ∞`` (exact 0 when every context's argmax holds all of ``Q``)."""
    with Precision():
        total, exact = ball(0), True
        for c in bandit.contexts:
            column = c.column(which)
            top = max(column)
            mass = sum((q for q, t in zip(c.reference, column) if t == top), Fraction(0))
            if mass != 1:
                exact = False
                total += ball(c.weight) * -ball(mass).log()
        return exact_enclosure(Fraction(0)) if exact else widened(total, Fraction(64))


# -- KL-budget optima: brackets on the tilt parameter ----------------------------------------------

@dataclass(frozen=True)
class TiltBracket:
    """The largest gain in ``T`` over policies with ``KL ≤ b`` for every ``b`` in
    ``[budget_low, budget_high]`` lies in ``best``.

    * ``lambda_low`` (0 allowed): ``KL(lambda_low) ≤ budget_low``, so its tilt is feasible and
      ``best.lower = gain(lambda_low).lower``;
    * ``lambda_high``: ``KL(lambda_high) > budget_high``, so by the Gibbs inequality no policy with
      ``KL ≤ budget_high`` gains more than ``gain(lambda_high)``; ``None`` stands for ``+∞``, whose
      bound is ``largest_gain`` (exact);
    * ``saturated``: ``limit_kl ≤ budget_low``, so the argmax-restricted policy is feasible and
      ``best`` is exactly ``largest_gain``.
    """

    which: str
    budget_low: Fraction
    budget_high: Fraction
    lambda_low: Fraction
    lambda_high: Fraction | None
    low: Tilt | None
    high: Tilt | None
    largest_gain: Fraction
    limit: Enclosure | None
    saturated: bool

    def gain(self, tilt_: Tilt) -> Enclosure:
        return tilt_.true_gain if self.which == "true" else tilt_.proxy_gain

    @property
    def best(self) -> Enclosure:
        if self.saturated:
            return exact_enclosure(self.largest_gain)
        lower = self.gain(self.low).lower if self.low is not None else Fraction(0)
        upper = self.gain(self.high).upper if self.high is not None else self.largest_gain
        return Enclosure(min(lower, upper), upper)


def _dyadic(value: Fraction, bits: int = LAMBDA_BITS) -> Fraction:
    """``value > 0`` rounded to ``bits`` significant bits."""
    shift = bits - (value.numerator.bit_length() - value.denominator.bit_length())
    scale = Fraction(2) ** shift
    return Fraction(round(value * scale)) / scale


def _guide(bandit: TailBandit, which: str, budget: Fraction) -> float | None:
    from ..guidance.tilts import tilt_parameter
    rows = [(float(c.weight), [math.log(q.numerator) - math.log(q.denominator) for q in c.reference],
             [float(t) for t in c.column(which)]) for c in bandit.contexts]
    return tilt_parameter(rows, float(budget))


def _newton(bandit: TailBandit, which: str, budget: Fraction, lam: Fraction, steps: int = 4) -> tuple[Fraction, Tilt]:
    """Newton steps on ``KL(λ) = budget`` from ``lam``, with ``KL' = λ Var_λ T``: proposals only
    (the bracket around the result is verified).  Returns the last ``λ`` and its tilt."""
    at = tilt(bandit, which, lam)
    for _ in range(steps):
        if at.slope <= 0 or not math.isfinite(at.slope):
            break
        step = ((at.kl.lower + at.kl.upper) / 2 - budget) / Fraction(at.slope)
        proposal = min(max(lam - step, lam / 2), 2 * lam)
        if abs(lam - proposal) <= lam / 2 ** (LAMBDA_BITS - 8):
            break
        lam = _dyadic(proposal)
        at = tilt(bandit, which, lam)
    return lam, at


def _half_width(centre: Fraction, at: Tilt) -> Fraction:
    """A first ``δ`` for the bracket ``[λ − δ, λ + δ]``: four times the KL enclosure's width over the
    slope, so that ``KL(λ ± δ)`` clears the budget by more than the enclosures' own width."""
    if at.slope <= 0 or not math.isfinite(at.slope):
        return centre / 2 ** 40
    delta = 4 * (at.kl.upper - at.kl.lower) / Fraction(at.slope)
    return _dyadic(min(max(delta, centre / 2 ** (LAMBDA_BITS - 20)), centre / 4), 32)


def tilt_bracket(bandit: TailBandit, which: str, budget_low: Fraction, budget_high: Fraction | None = None,
                 *, stop=None) -> TiltBracket:
    """Bracket the largest gain in ``T`` within ``KL ≤ b``, ``b ∈ [budget_low, budget_high]``."""
    budget_high = budget_low if budget_high is None else budget_high
    if budget_low < 0 or budget_high < budget_low:
        raise ModelError("a KL budget must be >= 0", entry="--kl-budget")
    largest = bandit.largest_gain(which)
    limit = limit_kl(bandit, which)
    if limit.upper <= budget_low:
        return TiltBracket(which, budget_low, budget_high, Fraction(0), None, None, None, largest, limit, True)
    guess = _guide(bandit, which, (budget_low + budget_high) / 2) if budget_low > 0 else None
    low = high = None
    lam_low, lam_high = Fraction(0), None
    if guess is not None and guess > 0 and math.isfinite(guess) and not (stop is not None and stop()):
        centre, at = _newton(bandit, which, (budget_low + budget_high) / 2, _dyadic(Fraction(guess)))
        delta = _half_width(centre, at)
        while delta < centre and not (stop is not None and stop()):
            if low is None:
                candidate = tilt(bandit, which, centre - delta)
                if candidate.kl.upper <= budget_low:
                    low, lam_low = candidate, centre - delta
            if high is None:
                candidate = tilt(bandit, which, centre + delta)
                if candidate.kl.lower > budget_high:
                    high, lam_high = candidate, centre + delta
            if low is not None and high is not None:
                break
            delta *= 16
    if low is None:
        low = tilt(bandit, which, Fraction(0))
    return TiltBracket(which, budget_low, budget_high, lam_low, lam_high, low, high, largest, limit, False)


# -- the Donsker-Varadhan ceiling ------------------------------------------------------------------

@dataclass(frozen=True)
class DonskerVaradhan:
    """``E_P V − E_Q V ≤ (d + ψ(λ))/λ`` for every policy with ``KL ≤ d`` and every ``λ > 0``, with
    ``ψ(λ) = Σ_s μ0(s) log E_{Q_s} e^{λ(V − E_{Q_s} V)}``; ``ceiling`` is a rational upper bound on
    the right side at ``lam`` (the best of a few candidates)."""

    budget: Fraction
    lam: Fraction
    psi: Enclosure
    ceiling: Fraction


def log_moment(bandit: TailBandit, lam: Fraction) -> Enclosure:
    """``ψ(λ) = Σ_s μ0(s) log E_{Q_s} e^{λ(V − E_{Q_s} V)}``, enclosed (``≥ 0`` by Jensen)."""
    with Precision():
        lam_b = ball(lam)
        total = ball(0)
        scale = Fraction(1)
        for c in bandit.contexts:
            b = c.balls
            z = ball(0)
            for q, shift in zip(b["reference"], b["true-shift"]):
                z += q * (lam_b * shift).exp()
            total += ball(c.weight) * (z.log() + lam_b * ball(max(c.true) - c.true_mean))
            scale = max(scale, lam * b["true-spread"] + 1)
        enc = widened(total, scale)
        return Enclosure(max(enc.lower, Fraction(0)), max(enc.upper, Fraction(0)))


def round_up_short(value: Fraction, bits: int = 64) -> Fraction:
    """``value`` rounded up to a dyadic with ``bits`` significant bits (0 stays 0)."""
    if value == 0:
        return value
    magnitude = abs(value)
    shift = bits - (magnitude.numerator.bit_length() - magnitude.denominator.bit_length())
    scale = Fraction(2) ** shift
    return Fraction(math.ceil(value * scale)) / scale


def donsker_varadhan(bandit: TailBandit, budget: Fraction, candidates: Sequence[Fraction]) -> DonskerVaradhan:
    """The best ceiling over ``candidates`` (positive rationals)."""
    best = None
    for lam in candidates:
        if lam <= 0:
            continue
        psi = log_moment(bandit, lam)
        ceiling = round_up_short((budget + psi.upper) / lam)
        if best is None or ceiling < best.ceiling:
            best = DonskerVaradhan(budget, lam, psi, ceiling)
    if best is None:
        raise ModelError("the Donsker-Varadhan ceiling needs a positive lambda")
    return best


def ceiling_candidates(bracket: TiltBracket) -> list[Fraction]:
    """A few ``λ`` near the budget's tilt parameter (the Donsker-Varadhan infimum is attained there;
    past the argmax's KL it is approached as ``λ → ∞``)."""
    if bracket.lambda_high is not None:
        centre = bracket.lambda_high
        return [centre, centre / 2, centre * 2]
    centre = bracket.lambda_low or Fraction(1)
    return [centre, centre * 16, centre * 256, centre * 4096]


# -- Theorem 1's construction P_t -----------------------------------------------------------------

@dataclass(frozen=True)
class Construction:
    """``P_t``: in each context with ``0 < Q_s(X ≥ t) < 1``, mass ``c/t`` on ``{X ≥ t}`` in proportion
    to ``Q``, the rest rescaled (other contexts keep ``Q``).  Rational, so its gains are exact."""

    t: Fraction
    c: Fraction
    proxy_gain: Fraction
    true_gain: Fraction
    kl: Enclosure
    tail_mass: Fraction
    changed: int

    @property
    def error_gain(self) -> Fraction:
        return self.proxy_gain - self.true_gain


def construction(bandit: TailBandit, t: Fraction, c: Fraction) -> Construction | None:
    """``P_t`` of Thm 1 with ``X = U − V``; None when no context has ``0 < Q(X ≥ t) < 1``."""
    if t <= 0 or c <= 0 or c >= t:
        raise ModelError("--construct T,C needs 0 < C < T (the mass C/T on {X >= T} is a probability)",
                         entry="--construct")
    a = c / t
    proxy_gain = true_gain = tail = Fraction(0)
    changed = 0
    with Precision():
        kl = ball(0)
        for ctx in bandit.contexts:
            inside = [x for x, (u, v) in enumerate(zip(ctx.proxy, ctx.true)) if u - v >= t]
            mass = sum((ctx.reference[x] for x in inside), Fraction(0))
            tail += ctx.weight * mass
            if mass == 0 or mass == 1:
                continue
            changed += 1
            up, down = a / mass, (1 - a) / (1 - mass)
            members = set(inside)
            for column, total in ((ctx.proxy, "proxy"), (ctx.true, "true")):
                shift = sum(((up if x in members else down) - 1) * q * value
                            for x, (q, value) in enumerate(zip(ctx.reference, column)))
                if total == "proxy":
                    proxy_gain += ctx.weight * shift
                else:
                    true_gain += ctx.weight * shift
            kl += ball(ctx.weight) * (ball(a) * ball(up).log() + ball(1 - a) * ball(down).log())
        if not changed:
            return None
        enc = widened(kl, Fraction(1) + abs(Fraction(float(kl.mid()))))
    return Construction(t, c, proxy_gain, true_gain, Enclosure(max(enc.lower, Fraction(0)), enc.upper), tail,
                        changed)


# -- conditioning and independence -----------------------------------------------------------------

@dataclass(frozen=True)
class Condition:
    """``E[V | U ≥ T]`` under ``μ0 × Q`` (None when the event has probability 0), exactly."""

    threshold: Fraction
    mass: Fraction
    true_mean: Fraction | None
    reference_mean: Fraction


def condition(bandit: TailBandit, threshold: Fraction) -> Condition:
    mass = total = Fraction(0)
    for c in bandit.contexts:
        for q, u, v in zip(c.reference, c.proxy, c.true):
            if u >= threshold:
                mass += c.weight * q
                total += c.weight * q * v
    return Condition(threshold, mass, total / mass if mass else None, bandit.reference_mean("true"))


def context_condition(context: Context, threshold: Fraction) -> tuple[Fraction, Fraction]:
    """``(Q(U ≥ T), E_Q[V·1{U ≥ T}])`` in one context."""
    mass = total = Fraction(0)
    for q, u, v in zip(context.reference, context.proxy, context.true):
        if u >= threshold:
            mass += q
            total += q * v
    return mass, total


def independent(context: Context) -> bool:
    """Are ``X = U − V`` and ``V`` independent under ``Q(·|s)``?  Exactly: the joint law of
    ``(X, V)`` is the product of its marginals (so its support is a full grid)."""
    joint: dict[tuple[Fraction, Fraction], Fraction] = {}
    px: dict[Fraction, Fraction] = {}
    pv: dict[Fraction, Fraction] = {}
    for q, u, v in zip(context.reference, context.proxy, context.true):
        x = u - v
        joint[(x, v)] = joint.get((x, v), Fraction(0)) + q
        px[x] = px.get(x, Fraction(0)) + q
        pv[v] = pv.get(v, Fraction(0)) + q
    if len(joint) != len(px) * len(pv):
        return False
    return all(p == px[x] * pv[v] for (x, v), p in joint.items())


def affine_slope(context: Context) -> Fraction | None:
    """``c`` when ``U = c V + b`` on the context with ``c > 0`` (then every proxy tilt is a true-reward
    tilt); 0 when ``V`` is constant there; None otherwise."""
    values = list(zip(context.true, context.proxy))
    v0, u0 = values[0]
    slope = None
    for v, u in values[1:]:
        if v != v0:
            slope = (u - u0) / (v - v0)
            break
    if slope is None:
        return Fraction(0)
    if slope <= 0 or any(u - u0 != slope * (v - v0) for v, u in values):
        return None
    return slope
