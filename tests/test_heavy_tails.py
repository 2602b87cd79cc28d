"""Heavy-tailed error under a KL penalty (docs/heavy-tails.md): the worked values, and every
enclosure, exact value and KL-budget optimum against independent references (tests/heavy_tails_reference.py:
mpmath at 50 digits, exact Fractions, a generic constrained optimiser refined in mpmath)."""

from __future__ import annotations

import math
import random
from fractions import Fraction as F

import mpmath
import pytest

from rewardcert.symbolic.core.errors import ModelError
from rewardcert.symbolic.optimisers import goodhart as gh
from rewardcert.symbolic.optimisers import heavy_tails as ht
from rewardcert.symbolic.optimisers import tail_families as tf
from tests import heavy_tails_reference as ref


def bandit(contexts) -> ht.TailBandit:
    return ht.TailBandit("test", tuple(ht.Context(f"s{i}", c[0], tuple(f"a{j}" for j in range(len(c[1]))),
                                                  tuple(c[1]), tuple(c[2]), tuple(c[3]))
                                       for i, c in enumerate(contexts)))


def random_contexts(rng: random.Random, *, contexts: int | None = None, outputs: int | None = None):
    n = contexts or rng.randint(1, 3)
    weights = [rng.randint(1, 4) for _ in range(n)]
    out = []
    for w in weights:
        m = outputs or rng.randint(2, 6)
        V = [F(rng.randint(-9, 9), rng.choice((1, 2, 3))) for _ in range(m)]
        U = [F(rng.randint(-9, 9), rng.choice((1, 2, 4))) for _ in range(m)]
        c = [rng.randint(1, 9) for _ in range(m)]
        out.append((F(w, sum(weights)), V, U, [F(x, sum(c)) for x in c]))
    return out


TOLERANCE_11 = F(5, 10 ** 12)       # the worked values are given to 11 decimals


def power2(k: int) -> F:
    return F(1, k * k)


# -- the worked values -----------------------------------------------------------------------------

@pytest.mark.parametrize("size, value", [(1, "0.18224483342"), (2, "0.16708188029"), (4, "0.13321667529"),
                                         (8, "0.03255564288")])
def test_b2_heavy_rows_are_reproduced(size, value):
    report = gh.goodhart_family("power:2", [size], 1)
    gain = report.rows[0][1].soft_optimum.true_gain
    assert gain.width < F(1, 10 ** 25)
    # the worked value (11 decimals, with S(k) = k^-2 exactly) agrees to its last digit ...
    assert gain.lower - TOLERANCE_11 <= F(value) <= gain.upper + TOLERANCE_11
    # ... and the enclosure holds the 50-digit value of the member under its declared rounding rule
    member = ref.b2(lambda k: ref.rounded_power(F(2), k), size)
    assert ref.inside(gain, ref.soft_optimum(member, 1)[0])
    # the rounding moves the value by far less than the worked value's last digit
    exact = ref.soft_optimum(ref.b2(power2, size), 1)[0]
    assert abs(ref.fraction(exact) - gain.lower) < F(1, 10 ** 18)


def test_b2_light_family_converges_to_its_limit():
    report = gh.goodhart_family("subgauss", [1, 5, 10, 30, 58], 1)
    gains = {n: r.soft_optimum.true_gain for n, r in report.rows}
    for n in (10, 30, 58):
        assert gains[n].lower - TOLERANCE_11 <= F("0.14596798581") <= gains[n].upper + TOLERANCE_11
        assert ref.inside(gains[n], ref.soft_optimum(ref.b2(ref.subgauss, n), 1)[0])
    assert abs(gains[58].lower - gains[30].lower) < F(1, 10 ** 25)
    assert abs(gains[5].lower - F("0.14596798581")) > F(1, 10 ** 8)     # not yet converged at N = 5


def test_the_heavy_family_loses_its_true_gain_while_its_kl_grows():
    report = gh.goodhart_family("power:2", [1, 8, 100, 1000], 1)
    rows = dict(report.rows)
    assert rows[1000].soft_optimum.true_gain.upper < F(1, 10 ** 20)
    assert rows[1000].soft_optimum.kl.lower > rows[100].soft_optimum.kl.upper > rows[8].soft_optimum.kl.upper
    assert rows[1000].soft_optimum.proxy_gain.lower > 999


@pytest.mark.parametrize("family, sizes", [("product:2", [1, 7, 300]), ("product:subgauss", [1, 12]),
                                           ("product:3/2", [40])])
@pytest.mark.parametrize("beta", [F(1), F(1, 2), F(3)])
def test_b1_product_has_true_gain_tanh_for_every_size(family, sizes, beta):
    with mpmath.workdps(60):
        value = mpmath.tanh(1 / (2 * ref.mp(beta))) / 2
    report = gh.goodhart_family(family, sizes, beta)
    for _, row in report.rows:
        assert ref.inside(row.soft_optimum.true_gain, value)
        assert row.soft_optimum.true_gain.width < F(1, 10 ** 25)
        thm4 = next(c for c in row.claims if c.key == "thm4")
        assert thm4.status == gh.HOLDS


def test_thm3_counterexample_pareto_2():
    report = gh.goodhart_family("pareto:2", [10_000], 1, construct=(500, 5))
    row = report.rows[0][1]
    built = row.construction
    assert F("0.06825") <= built.kl.lower and built.kl.upper <= F("0.06835")      # KL 0.0683
    assert abs(built.true_gain - F("-9.7247")) < F(5, 10 ** 5)                      # -9.7247
    assert built.proxy_gain == 0                                                    # U = X + V = 0
    # independent: the exact gain from the member's own masses, the KL at 50 digits
    (w, V, U, Q), = ref.pareto(lambda k: ref.rounded_power(F(2), k), 10_000)
    m = sum(q for q, v in zip(Q, V) if -v >= 500)
    a = F(5, 500)
    assert built.true_gain == sum(q * v * ((a / m if -v >= 500 else (1 - a) / (1 - m)) - 1) for q, v in zip(Q, V))
    with mpmath.workdps(60):
        kl = ref.mp(a) * mpmath.log(ref.mp(a / m)) + ref.mp(1 - a) * mpmath.log(ref.mp((1 - a) / (1 - m)))
    assert ref.inside(built.kl, kl)
    statuses = {(c.key, c.policy): c.status for c in row.claims}
    assert statuses[("thm3-two-sided", "construction")] == gh.FAILS
    assert statuses[("thm3-one-sided", "construction")] == gh.HOLDS
    assert [c for c in row.counterexamples] and all(c.key == "thm3-two-sided" for c in row.counterexamples)


# -- the families' truncation rules ------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [F(2), F(3), F(3, 2), F(1, 2)])
def test_power_survival_is_the_declared_rounding(alpha):
    for k in (1, 2, 3, 7, 64, 65, 1000, 9999, 65536):
        value = tf.power_survival(alpha, k)
        assert value == ref.rounded_power(alpha, k)
        # rounded up, by less than 2^-64 relative
        assert value ** alpha.denominator * k ** alpha.numerator >= 1
        assert (value - F(1, 2 ** 64) * value) ** alpha.denominator * k ** alpha.numerator < 1


def test_members_are_exact_with_short_numbers_and_sum_to_one():
    from rewardcert.symbolic.core.numbers import rational_chars
    for label, size in (("power:2", 10_000), ("product:3/2", 5_000), ("pareto:2", 10_000), ("subgauss", 58)):
        b = tf.member(tf.parse_family(label), size)
        (c,) = b.contexts
        assert sum(c.reference) == 1 and all(q > 0 for q in c.reference)
        assert len(c.outputs) == tf.parse_family(label).outputs(size)
        longest = max(rational_chars(b.reference_mean(w)) for w in ("true", "proxy"))
        assert longest <= 2000
        if label != "subgauss":
            assert longest < 60, (label, longest)       # the rounding keeps exact sums short


def test_family_parameters_are_checked():
    for text in ("power", "power:0", "power:-1", "lognormal:2", "subgauss:2", "product", "power:1/0",
                 "pareto:subgauss", "power:1000001", "power:17", "power:1/17"):
        with pytest.raises(ModelError):
            tf.parse_family(text)
    with pytest.raises(ModelError):
        tf.member(tf.parse_family("subgauss"), 59)
    with pytest.raises(ModelError):
        gh.check_sizes(tf.parse_family("power:2"), [3, 3])


# -- every enclosure against mpmath, on random instances -------------------------------------------

def test_soft_optimum_and_tilts_against_mpmath():
    rng = random.Random(27)
    for _ in range(40):
        contexts = random_contexts(rng)
        b = bandit(contexts)
        beta = F(rng.randint(1, 9), rng.randint(1, 4))
        soft = ht.soft_optimum(b, beta)
        true_gain, proxy_gain, kl = ref.soft_optimum(contexts, beta)
        assert ref.inside(soft.true_gain, true_gain) and ref.inside(soft.proxy_gain, proxy_gain)
        assert ref.inside(soft.kl, kl)
        for which in ("true", "proxy"):
            lam = F(rng.randint(1, 40), rng.randint(1, 8))
            t = ht.tilt(b, which, lam)
            for got, want in zip((t.true_gain, t.proxy_gain, t.kl), ref.tilt(contexts, which, lam)):
                assert ref.inside(got, want)
                assert got.width < F(1, 10 ** 20)
        lam = F(rng.randint(1, 30), 7)
        assert ref.inside(ht.log_moment(b, lam), ref.psi(contexts, lam))
        assert ref.inside(ht.limit_kl(b, "true"), ref.argmax_kl(contexts, "true"))


def test_construction_and_condition_against_independent_sums():
    rng = random.Random(6)
    for _ in range(40):
        contexts = random_contexts(rng)
        b = bandit(contexts)
        t, c = F(rng.randint(1, 12), 2), F(1, 3)
        built = ht.construction(b, t, c)
        a = c / t
        gains, kl, changed = {"true": F(0), "proxy": F(0)}, mpmath.mpf(0), 0
        with mpmath.workdps(60):
            for w, V, U, Q in contexts:
                inside = [u - v >= t for u, v in zip(U, V)]
                m = sum(q for q, i in zip(Q, inside) if i)
                if m in (0, 1):
                    continue
                changed += 1
                P = [q * (a / m if i else (1 - a) / (1 - m)) for q, i in zip(Q, inside)]
                assert sum(P) == 1
                gains["true"] += w * sum((p - q) * v for p, q, v in zip(P, Q, V))
                gains["proxy"] += w * sum((p - q) * u for p, q, u in zip(P, Q, U))
                kl += ref.mp(w) * mpmath.fsum(ref.mp(p) * mpmath.log(ref.mp(p / q)) for p, q in zip(P, Q))
            if not changed:
                assert built is None
                continue
            assert built.true_gain == gains["true"] and built.proxy_gain == gains["proxy"]
            assert ref.inside(built.kl, kl)
        threshold = F(rng.randint(-9, 9), 2)
        cond = ht.condition(b, threshold)
        mass = sum(w * q for w, V, U, Q in contexts for q, u in zip(Q, U) if u >= threshold)
        total = sum(w * q * v for w, V, U, Q in contexts for q, u, v in zip(Q, U, V) if u >= threshold)
        assert cond.mass == mass and cond.true_mean == (total / mass if mass else None)


def test_kl_budget_optima_against_a_constrained_optimiser_refined_in_mpmath():
    rng = random.Random(14)
    checked = 0
    while checked < 6:
        contexts = random_contexts(rng, contexts=rng.randint(1, 2), outputs=rng.randint(3, 4))
        b = bandit(contexts)
        for which in ("true", "proxy"):
            limit = ref.argmax_kl(contexts, which)
            if limit < 0.2:
                continue
            budget = F(rng.randint(1, 9), 10) * F(int(limit * 100), 100)
            bracket = ht.tilt_bracket(b, which, budget)
            assert not bracket.saturated and bracket.lambda_high is not None
            optimum = ref.budget_optimum(contexts, which, budget)
            assert ref.inside(bracket.best, optimum), (contexts, which, budget)
            assert bracket.best.width < F(1, 10 ** 18)
            # the Donsker-Varadhan ceiling is a valid bound, close to the optimum
            dv = ht.donsker_varadhan(b, budget, ht.ceiling_candidates(bracket))
            if which == "true":
                assert ref.fraction(optimum) <= dv.ceiling <= ref.fraction(optimum) + F(1, 10 ** 15)
            checked += 1


def test_a_budget_past_the_argmax_kl_gives_the_largest_gain_exactly():
    contexts = [(F(1), [F(0), F(1), F(5)], [F(0), F(2), F(1)], [F(1, 2), F(1, 4), F(1, 4)])]
    b = bandit(contexts)
    assert float(ref.argmax_kl(contexts, "true")) == pytest.approx(math.log(4))
    bracket = ht.tilt_bracket(b, "true", F(14, 10))             # log 4 = 1.386 < 1.4
    assert bracket.saturated and bracket.best.lower == bracket.best.upper == F(5) - F(5, 4) - F(1, 4)
    below = ht.tilt_bracket(b, "true", F(138, 100))
    assert not below.saturated and below.best.upper < F(4)


# -- the claims ----------------------------------------------------------------------------------------

def test_independence_is_decided_exactly():
    assert ht.independent(tf.member(tf.parse_family("product:2"), 9).contexts[0])
    assert not ht.independent(tf.member(tf.parse_family("power:2"), 9).contexts[0])
    w, V, U, Q = random_contexts(random.Random(1), contexts=1, outputs=4)[0]
    assert not ht.independent(bandit([(w, [F(0), F(1)], [F(0), F(2)], [F(1, 2), F(1, 2)])]).contexts[0])


def test_conditioning_on_the_product_goes_to_the_prior_mean_when_the_error_is_heavy():
    """E[V | X + V >= T] = S(T-1) / (S(T-1) + S(T)) for the product family: 1/2 in the limit of a
    heavy tail (Thms 5-6's no-gain regime), 1 for a light one."""
    for label, survival in (("product:2", lambda k: tf.power_survival(F(2), k)), ("product:subgauss", ref.subgauss)):
        b = tf.member(tf.parse_family(label), 40)
        for T in (3, 10, 30):
            cond = ht.condition(b, F(T))
            assert cond.true_mean == survival(T - 1) / (survival(T - 1) + survival(T))
    heavy = ht.condition(tf.member(tf.parse_family("product:2"), 2000), F(1000)).true_mean
    light = ht.condition(tf.member(tf.parse_family("product:subgauss"), 40), F(20)).true_mean
    assert abs(heavy - F(1, 2)) < F(1, 1000) and light == 1 / (1 + F(1, 2 ** 37))
    claim = gh.analyse(tf.member(tf.parse_family("product:2"), 30), gh.GoodhartOptions(F(1), condition=F(5))).claims
    assert [c.status for c in claim if c.key == "thm5-6"] == [gh.HOLDS]


def test_a_proxy_that_is_an_increasing_affine_map_of_v_makes_thm3_an_equality():
    contexts = [(F(1), [F(0), F(1), F(3)], [F(1), F(3), F(7)], [F(1, 2), F(1, 4), F(1, 4)])]
    report = gh.analyse(bandit(contexts), gh.GoodhartOptions(F(1, 2)))
    one = next(c for c in report.claims if c.key == "thm3-one-sided")
    assert one.status == gh.HOLDS and one.slope == 2
    # the soft optimum is the V-tilt at lambda = 2/beta = 4, whose gain is the largest at its own KL
    bracket = ht.tilt_bracket(bandit(contexts), "true", report.soft_optimum.kl.lower, report.soft_optimum.kl.upper)
    assert bracket.best.lower <= report.soft_optimum.true_gain.upper
    assert report.soft_optimum.true_gain.lower <= bracket.best.upper


def test_thm4_finite_analogue_on_random_independent_instances():
    rng = random.Random(4)
    for _ in range(10):
        xs = [F(rng.randint(-5, 5)) for _ in range(3)]
        vs = [F(rng.randint(-5, 5), 2) for _ in range(2)]
        px = [F(rng.randint(1, 5)) for _ in xs]
        pv = [F(rng.randint(1, 5)) for _ in vs]
        Q = [a * b / (sum(px) * sum(pv)) for a in px for b in pv]
        V = [v for _ in xs for v in vs]
        U = [x + v for x in xs for v in vs]
        report = gh.analyse(bandit([(F(1), V, U, Q)]), gh.GoodhartOptions(F(rng.randint(1, 5))))
        thm4 = next(c for c in report.claims if c.key == "thm4")
        assert thm4.status == gh.HOLDS
        # the V-marginal of the soft optimum is the V-tilt: its gain does not depend on X
        with mpmath.workdps(60):
            lam = 1 / ref.mp(report.options.beta)
            raw = [ref.mp(b) * mpmath.exp(lam * ref.mp(v)) for b, v in zip(pv, vs)]
            gain = mpmath.fsum(r * ref.mp(v) for r, v in zip(raw, vs)) / mpmath.fsum(raw) - \
                mpmath.fsum(ref.mp(b) * ref.mp(v) for b, v in zip(pv, vs)) / ref.mp(sum(pv))
        assert ref.inside(report.soft_optimum.true_gain, gain)


def test_options_are_checked():
    for kwargs in ({"beta": F(0)}, {"beta": F(1), "kl_budget": F(0)}, {"beta": F(1), "construct": (F(1), F(2))},
                   {"beta": F(1), "target": (F(1), F(1))}, {"beta": F(1), "construct": (F(2), F(1)),
                                                             "target": (F(1), F(0))}):
        with pytest.raises(ModelError):
            gh.GoodhartOptions(**kwargs)


def test_the_api_reads_numbers_like_the_cli_and_refuses_floats():
    import rewardcert
    report = rewardcert.goodhart_family("power:2", [1], "1", kl_budget="1/10")
    assert report.rows[0][1].kl_budget.budget == F(1, 10)
    with pytest.raises(rewardcert.RewardcertError):
        rewardcert.goodhart_family("power:2", [1], 0.5)
