"""The soft optimum of a reward model, enclosed (docs/certificate-format.md §6.2): the regularisation,
stochastic policies, soft boxes (``reg-fixed-point``), policy boxes (``reg-policy-box``) and the
return bounds of a policy box (``reg-comparison``)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .instance import Instance
from .linear import solve
from .reading import exact_keys, keys_within, obj, rational, require
from .series import down, exp_bounds, exp_lower, exp_upper, log_bounds, up


@dataclass(frozen=True, slots=True)
class Regularisation:
    """``instance.regularisation``: λ and the full-support reference policy (rows of π_ref(a|s))."""
    lam: Fraction
    reference: tuple


def read_regularisation(inst: Instance, table) -> Regularisation:
    """Rule ``reg-instance`` (§6.1)."""
    table = obj(table, "reg-instance", "instance.regularisation")
    exact_keys(table, {"lambda", "reference", "regulariser"}, "reg-instance", "instance.regularisation")
    require(table["regulariser"] == "occupancy-kl", "reg-instance", "the regulariser must be 'occupancy-kl'")
    lam = rational(table["lambda"], "reg-instance", "regularisation.lambda")
    require(lam > 0, "reg-instance", "lambda must be > 0")
    reference = stochastic_policy(inst, table["reference"], "reg-instance", "regularisation.reference")
    require(all(p > 0 for row in reference for p in row), "reg-instance",
            "the reference policy must give every action positive probability")
    return Regularisation(lam, tuple(reference))


def stochastic_policy(inst: Instance, table, rule: str, where: str) -> list[list[Fraction]]:
    """``{state: {action: p}}`` naming every state; rows >= 0 summing to 1 (omitted actions 0)."""
    table = obj(table, rule, where)
    keys_within(table, inst.s_index, rule, where)
    require(len(table) == inst.n, rule, f"{where}: every state needs a row")
    values = inst.pair_table(table, rule, where, complete=False)
    rows = [values[s * inst.m:(s + 1) * inst.m] for s in range(inst.n)]
    for s, row in enumerate(rows):
        require(all(p >= 0 for p in row) and sum(row) == 1, rule,
                f"{where}.{inst.states[s]} must be a probability distribution")
    return rows


def _bellman_rows(inst: Instance, policy) -> list[list[Fraction]]:
    """The matrix ``I − γP_π`` of a stochastic ``π`` as rows."""
    n, m = inst.n, inst.m
    rows = []
    for s in range(n):
        row = [Fraction(0)] * n
        row[s] += 1
        for a in range(m):
            if policy[s][a]:
                for t, gp in inst.succ[s * m + a]:
                    row[t] -= policy[s][a] * gp
        rows.append(row)
    return rows


def stochastic_values(inst: Instance, policy, reward) -> list[Fraction]:
    """``V^π = (I − γP_π)^{-1} R_π`` for a stochastic ``π``, exactly."""
    n, m = inst.n, inst.m
    rhs = [sum((policy[s][a] * reward[s * m + a] for a in range(m) if policy[s][a]), Fraction(0))
           for s in range(n)]
    if inst.gamma == 0:
        return rhs
    return solve(_bellman_rows(inst, policy), rhs)


def stochastic_occupancy(inst: Instance, policy) -> list[Fraction]:
    """``d^π`` with ``(I − γP_π)^T d = μ0`` (total mass ``1/(1−γ)``)."""
    rows = _bellman_rows(inst, policy)
    return solve([[rows[r][c] for r in range(inst.n)] for c in range(inst.n)], list(inst.mu0))


def check_soft_box(inst: Instance, reg: Regularisation, reward, table, where: str):
    """Rule ``reg-fixed-point``: a soft box ``{"values": {state: W0}, "radius": rho}`` with
    |T(W0) − W0| <= (1 − γ)ρ; returns (W0, ρ)."""
    table = obj(table, "reg-fixed-point", where)
    exact_keys(table, {"values", "radius"}, "reg-fixed-point", where)
    values = obj(table["values"], "reg-fixed-point", f"{where}.values")
    keys_within(values, inst.s_index, "reg-fixed-point", f"{where}.values")
    require(len(values) == inst.n, "reg-fixed-point", f"{where}.values: every state needs a value")
    w0 = [rational(values[s], "reg-fixed-point", f"{where}.values.{s}") for s in inst.states]
    radius = rational(table["radius"], "reg-fixed-point", f"{where}.radius")
    require(radius >= 0, "reg-fixed-point", f"{where}.radius must be >= 0")
    m, lam = inst.m, reg.lam
    q = [reward[x] + sum((gp * w0[t] for t, gp in inst.succ[x]), Fraction(0)) for x in range(inst.n * m)]
    for s in range(inst.n):
        row = q[s * m:(s + 1) * m]
        top = max(row)
        total_lo = total_hi = Fraction(0)
        for a, qa in enumerate(row):
            lo, hi = exp_bounds((qa - top) / lam)
            total_lo += reg.reference[s][a] * lo
            total_hi += reg.reference[s][a] * hi
        log_lo, _ = log_bounds(down(total_lo))
        _, log_hi = log_bounds(up(total_hi))
        t_lo, t_hi = top + lam * log_lo, top + lam * log_hi
        gap = max(t_hi - w0[s], w0[s] - t_lo)
        require(gap <= (1 - inst.gamma) * radius, "reg-fixed-point",
                f"{where}: |T(W0) - W0| at {inst.states[s]} is not shown to be <= (1 - gamma) * radius")
    return w0, radius


def advantage_gaps(inst: Instance, r_lo, r_hi, w_lo, w_hi) -> dict:
    """[min, max] of Q*(s,b) − Q*(s,a) = R̂(b) − R̂(a) + γ(τ_b − τ_a)·W over the boxes of R̂ and W."""
    m = inst.m
    gaps = {}
    for s in range(inst.n):
        for a in range(m):
            xa = s * m + a
            for b in range(m):
                if b == a:
                    continue
                xb = s * m + b
                lo, hi = r_lo[xb] - r_hi[xa], r_hi[xb] - r_lo[xa]
                if w_lo is not None:
                    coeff: dict = {}
                    for t, gp in inst.succ[xb]:
                        coeff[t] = coeff.get(t, Fraction(0)) + gp
                    for t, gp in inst.succ[xa]:
                        coeff[t] = coeff.get(t, Fraction(0)) - gp
                    for t, c in coeff.items():
                        if c > 0:
                            lo, hi = lo + c * w_lo[t], hi + c * w_hi[t]
                        elif c < 0:
                            lo, hi = lo + c * w_hi[t], hi + c * w_lo[t]
                gaps[(s, b, a)] = (lo, hi)
    return gaps


def policy_box(inst: Instance, reg: Regularisation, r_lo, r_hi, w_lo=None, w_hi=None):
    """Rule ``reg-policy-box``: an enclosure of π̂(a|s) over R̂ ∈ [r_lo, r_hi] with W* ∈ [w_lo, w_hi],
    in ratio form π̂(a|s) = 1 / (1 + Σ_{b≠a} (π_ref(b)/π_ref(a)) exp((Q(b) − Q(a))/λ))."""
    m, lam = inst.m, reg.lam
    gaps = advantage_gaps(inst, r_lo, r_hi, w_lo, w_hi)
    lower, upper = [], []
    for s in range(inst.n):
        for a in range(m):
            x = s * m + a
            p = reg.reference[s][a]
            worst = best = Fraction(0)      # Σ_b ratio · exp bounds, for the lower and the upper end
            infinite = False
            for b in range(m):
                if b == a:
                    continue
                ratio = reg.reference[s][b] / p
                gap_lo, gap_hi = gaps[(s, b, a)]
                big = exp_upper(gap_hi / lam)
                if big is None:
                    infinite = True
                else:
                    worst = up(worst + ratio * big)
                best = down(best + ratio * exp_lower(gap_lo / lam))
            lo = Fraction(0) if infinite else down(1 / (1 + worst))
            hi = min(Fraction(1), up(1 / (1 + best)))
            require(0 <= lo <= hi, "reg-policy-box", f"empty policy box at {inst.pair(x)}")
            lower.append(lo)
            upper.append(hi)
    return lower, upper


def _extreme_mix(lower, upper, adv, largest: bool) -> Fraction:
    """min (or max) of Σ_a p_a adv_a over lower <= p <= upper, Σ p = 1 (exact greedy)."""
    require(sum(lower) <= 1 <= sum(upper), "reg-policy-box", "the policy box misses the simplex")
    value = sum((lo * a for lo, a in zip(lower, adv)), Fraction(0))
    rest = 1 - sum(lower)
    for i in sorted(range(len(adv)), key=lambda i: adv[i], reverse=largest):
        if rest <= 0:
            break
        give = min(rest, upper[i] - lower[i])
        value += give * adv[i]
        rest -= give
    return value


def return_bounds_of_box(inst: Instance, lower, upper, comparison) -> tuple[Fraction, Fraction]:
    """Lower and upper bounds on J_R(π) over every policy in the box (docs §6.2)."""
    values = stochastic_values(inst, comparison, inst.reward)
    m = inst.m
    base = inst.ret(values)
    mins, maxs = [], []
    for s in range(inst.n):
        adv = []
        for a in range(m):
            x = s * m + a
            adv.append(inst.reward[x] + sum((gp * values[t] for t, gp in inst.succ[x]), Fraction(0)) - values[s])
        lo, hi = lower[s * m:(s + 1) * m], upper[s * m:(s + 1) * m]
        mins.append(_extreme_mix(lo, hi, adv, False))
        maxs.append(_extreme_mix(lo, hi, adv, True))
    spill = inst.gamma / (1 - inst.gamma)
    j_lo = base + sum(p * v for p, v in zip(inst.mu0, mins)) + spill * min(mins)
    j_hi = base + sum(p * v for p, v in zip(inst.mu0, maxs)) + spill * max(maxs)
    if inst.gamma:
        occ = stochastic_occupancy(inst, comparison)
        drift = spill * sum((occ[s] * sum((max(upper[s * m + a] - comparison[s][a], comparison[s][a] - lower[s * m + a])
                                           for a in range(m)), Fraction(0)) for s in range(inst.n)), Fraction(0))
        j_lo = max(j_lo, base + sum(d * v for d, v in zip(occ, mins)) - drift * max(abs(v) for v in mins))
        j_hi = min(j_hi, base + sum(d * v for d, v in zip(occ, maxs)) + drift * max(abs(v) for v in maxs))
    return j_lo, j_hi


def comparison_policy(inst: Instance, reg: Regularisation, evidence: dict):
    """Rule ``reg-comparison``: π̃ (``comparison_policy``; π_ref by default when γ = 0)."""
    if inst.gamma == 0 and "comparison_policy" not in evidence:
        return reg.reference
    require("comparison_policy" in evidence, "reg-comparison", "a comparison_policy is needed when gamma > 0")
    return stochastic_policy(inst, evidence["comparison_policy"], "reg-comparison", "comparison_policy")
