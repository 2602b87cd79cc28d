"""The preference error of regularised claims (RLHF, docs/certificate-format.md §6.3a): the Bernoulli
KL of two reward differences, enclosed rigorously, and the rules ``reg-preference-*``.

``reg`` is the claim's ``regularised.Regularisation`` (``reference[s][a]`` is π_ref(a|s))."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

from .instance import Instance
from .reading import keys_within, num, obj, rational, require
from .series import down, exp_bounds, log_bounds, up


def _imul(a: tuple, b: tuple) -> tuple[Fraction, Fraction]:
    products = [x * y for x in a for y in b]
    return down(min(products)), up(max(products))


def _softplus_bounds(x: Fraction) -> tuple[Fraction, Fraction]:
    """log(1 + e^x) = max(x, 0) + log(1 + e^(-|x|)), with exp of a non-positive number only."""
    lo, hi = exp_bounds(-abs(x))
    log_lo, log_hi = log_bounds(1 + lo)[0], log_bounds(1 + hi)[1]
    top = max(x, Fraction(0))
    return top + log_lo, top + log_hi


def pair_kl_upper(u: Fraction, v: Fraction) -> Fraction:
    return pair_kl_bounds(u, v)[1]


@lru_cache(maxsize=1 << 16)
def pair_kl_bounds(u: Fraction, v: Fraction) -> tuple[Fraction, Fraction]:
    """Enclosure of KL(Bern(σ(u)) ‖ Bern(σ(v))) = σ(u)(sp(−v) − sp(−u)) + σ(−u)(sp(v) − sp(u))."""
    e_lo, e_hi = exp_bounds(-abs(u))
    big = (down(1 / (1 + e_hi)), up(1 / (1 + e_lo)))          # σ(|u|)
    small = (down(e_lo / (1 + e_lo)), up(e_hi / (1 + e_hi)))   # σ(−|u|)
    p, q = (big, small) if u >= 0 else (small, big)
    a_lo, a_hi = _softplus_bounds(-v)
    b_lo, b_hi = _softplus_bounds(-u)
    c_lo, c_hi = _softplus_bounds(v)
    d_lo, d_hi = _softplus_bounds(u)
    first = _imul(p, (a_lo - b_hi, a_hi - b_lo))
    second = _imul(q, (c_lo - d_hi, c_hi - d_lo))
    return first[0] + second[0], first[1] + second[1]


def preference_pairs(inst: Instance, reg):
    """``(weight, x1, x2)`` for every unordered pair of distinct actions in a state with μ0(s) > 0.
    The ordered pair (a2, a1) has the negated differences and the same KL, so ``weight`` is twice
    ``μ0(s) π_ref(a1|s) π_ref(a2|s)``."""
    m = inst.m
    for s in range(inst.n):
        if inst.mu0[s]:
            for a1 in range(m):
                for a2 in range(a1 + 1, m):
                    yield 2 * inst.mu0[s] * reg.reference[s][a1] * reg.reference[s][a2], s * m + a1, s * m + a2


def preference_distance(inst: Instance, reg, lo, hi) -> Fraction:
    """Lower bound on the preference error over a box of reward models: each pair's KL at the
    point of its difference interval nearest the true difference (KL is convex in it)."""
    total = Fraction(0)
    for weight, x1, x2 in preference_pairs(inst, reg):
        u = inst.reward[x1] - inst.reward[x2]
        v = min(max(u, lo[x1] - hi[x2]), hi[x1] - lo[x2])
        if v != u:
            total = down(total + weight * pair_kl_bounds(u, v)[0])
    return total


def preference_root_box(inst: Instance, reg, radii, root_epsilon: Fraction):
    """Rule ``reg-preference-box``: the shift-normalised root box, its radii verified."""
    radii = obj(radii, "reg-preference-box", "evidence.box_radii")
    keys_within(radii, inst.s_index, "reg-preference-box", "evidence.box_radii")
    m = inst.m
    lo, hi = list(inst.reward), list(inst.reward)
    target = root_epsilon * inst.range_reward
    for s in range(inst.n):
        if not inst.mu0[s]:
            continue
        row = obj(radii.get(inst.states[s]), "reg-preference-box", f"box_radii.{inst.states[s]}")
        require(set(row) == set(inst.actions[1:]), "reg-preference-box",
                f"box_radii.{inst.states[s]} names every action but the first, {inst.actions[0]!r}")
        for a in range(1, m):
            rho = rational(row[inst.actions[a]], "reg-preference-box", f"box_radii.{inst.states[s]}.{inst.actions[a]}")
            require(rho > 0, "reg-preference-box", "radii must be > 0")
            u = inst.reward[s * m + a] - inst.reward[s * m]
            weight = 2 * inst.mu0[s] * reg.reference[s][a] * reg.reference[s][0]
            low = min(pair_kl_bounds(u, u + rho)[0], pair_kl_bounds(u, u - rho)[0])
            require(weight * low > target, "reg-preference-box",
                    f"radius {num(rho)} at {inst.pair(s * m + a)} does not push the error above the root target")
            lo[s * m + a] -= rho
            hi[s * m + a] += rho
    return lo, hi


def check_preference_error(inst: Instance, reg, reward_model, epsilon: Fraction) -> None:
    """Rule ``reg-preference-error``: E_{s∼μ0, a1,a2∼π_ref} KL(p_R ‖ p_R̂) <= ε range R (Def C.27)."""
    total = Fraction(0)
    for weight, x1, x2 in preference_pairs(inst, reg):
        u = inst.reward[x1] - inst.reward[x2]
        v = reward_model[x1] - reward_model[x2]
        if u != v:
            total = up(total + weight * pair_kl_upper(u, v))
    require(total <= epsilon * inst.range_reward, "reg-preference-error",
            f"the preference error may be {num(total)}, above epsilon * range R = {num(epsilon * inst.range_reward)}")


def check_reference_data(inst: Instance, reg) -> None:
    """Rule ``reg-preference-data``: a bandit, and D = D^ref, D(s,a) = μ0(s) π_ref(a|s), exactly."""
    require(inst.gamma == 0, "reg-preference-data", "the preference error is defined for bandits (gamma = 0)")
    for x, d in enumerate(inst.data):
        s, a = divmod(x, inst.m)
        require(d == inst.mu0[s] * reg.reference[s][a], "reg-preference-data",
                f"D at {inst.pair(x)} is not mu0(s) * pi_ref(a|s)")
