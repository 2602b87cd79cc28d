"""The paper's §3 instruments: M, Props 3.1-3.3, Cor 3.4, the safest D, theorem instances."""

import itertools
import json
import subprocess
import sys
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import uniform_distribution
from rewardcert.symbolic.paper.closed_form import proposition_3_2, sqrt2_interval
from rewardcert.symbolic.paper.matrix import paper_algorithm_rows, safety_matrix
from rewardcert.symbolic.paper.safest import safest_distribution
from rewardcert.symbolic.paper.section3 import corollary_3_4, proposition_3_3
from rewardcert.symbolic.search.engine import critical_epsilon

from benchmarks.common import random_mdp as ref_random_mdp
from rewardcert.certificates import (
    safest_certificate,
    safety_certificate,
    unsafe_certificate,
)
from rewardcert.cli import main
from rewardcert.instances import INSTANCES, example_d14, instances, render
from rewardcert.theorem_checks import theorem_instances
from tests import reference as ref
from tests.conftest import EXAMPLES, ROOT
from tests.strategies import distributions, mdps

regret_bounds = st.integers(1, 10).map(lambda k: F(k, 10))


def dot(row, D):
    return sum(c * d for c, d in zip(row, D))


# -- Theorem 3.5: the matrix M ---------------------------------------------------------

def test_figure4_matrix_is_the_papers_with_its_dominated_row_reported(capsys):
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    matrix = safety_matrix(mdp, F(4, 5))
    expected = {(F("0.8"), F(0), F("0.38")), (F("1.18"), F("0.38"), F(0)), (F(0), F(0), F("1.18"))}
    assert {row.coefficients for row in matrix.rows} == expected
    assert not any(row.redundant for row in matrix.rows)
    assert (F(0), F("0.8"), F("1.18")) in paper_algorithm_rows(mdp, F(4, 5))
    assert main(["matrix", str(EXAMPLES / "figure4.toml"), "--regret", "4/5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    dominated = [item for item in report["paper_algorithm"] if item["status"] == "dominated"]
    assert [item["coefficients"]["s"] for item in dominated] == [{"a1": "0", "a2": "4/5", "a3": "59/50"}]
    # each row's witness reward model really produces that row's errors
    for row in report["rows"]:
        for a in ("a1", "a2", "a3"):
            r = mdp.reward[mdp.actions.index(a)]
            assert abs(F(row["witness"]["s"][a]) - r) == F(row["coefficients"]["s"][a])


@settings(max_examples=40)
@given(st.data())
def test_matrix_critical_error_equals_the_exact_engine(data):
    mdp = data.draw(mdps(max_states=3, max_actions=3))
    L = data.draw(regret_bounds)
    matrix = safety_matrix(mdp, L, mark_redundant=False)
    for _ in range(3):
        D = data.draw(distributions(mdp))
        assert matrix.critical_epsilon(D) == critical_epsilon(mdp, D, L).critical_epsilon
    for row in matrix.rows:  # every row is a genuine attack: its witness makes a Π_L policy optimal
        assert ref.uniformly_optimal(mdp, row.policy, row.witness)
        assert ref.regrets(mdp)[row.policy] >= L
        assert row.coefficients == tuple(abs(a - b) for a, b in zip(row.witness, mdp.reward))


@settings(max_examples=25)
@given(st.data())
def test_the_papers_algorithm_1_defines_the_same_safe_set(data):
    mdp = data.draw(mdps(max_states=2, max_actions=3))
    L = data.draw(regret_bounds)
    matrix = safety_matrix(mdp, L, mark_redundant=False)
    paper = paper_algorithm_rows(mdp, L)
    for _ in range(4):
        D = data.draw(distributions(mdp))
        ours = min((dot(r.coefficients, D) for r in matrix.rows), default=None)
        theirs = min((dot(r, D) for r in paper), default=None)
        assert ours == theirs


def test_redundancy_marks_rows_implied_on_the_simplex():
    from rewardcert.symbolic.paper.matrix import MatrixRow, mark_redundant_rows
    rows = [MatrixRow((F(1), F(0)), (0,), (F(0), F(0))), MatrixRow((F(0), F(1)), (0,), (F(0), F(0))),
            MatrixRow((F(2), F(2)), (0,), (F(0), F(0))), MatrixRow((F(1, 2), F(1, 2)), (0,), (F(0), F(0)))]
    # on the 1-simplex: min(d1, d2) <= 1/2 = (d1 + d2)/2, so (1/2, 1/2) is implied; (2, 2) too
    assert [r.redundant for r in mark_redundant_rows(rows)] == [False, False, True, True]


# -- Propositions 3.1 and 3.2 -----------------------------------------------------------

@given(st.data())
def test_proposition_3_2_bound_never_exceeds_the_critical_error(data):
    mdp = data.draw(mdps())
    D = data.draw(distributions(mdp, allow_zeros=False))
    L = data.draw(regret_bounds)
    bound = proposition_3_2(mdp, D, L)
    star = critical_epsilon(mdp, D, L).critical_epsilon
    if star is None or not bound.applies:
        return
    assert bound.at_most(star)                       # exact: q^2 <= 2 eps*^2
    lo, hi = bound.ratio_interval(star)
    assert lo <= hi and hi >= sqrt2_interval()[0]    # the ratio is at least sqrt 2 (checked)
    # Prop. 3.1: the certified epsilon below the bound is safe, and its certificate verifies
    eps0 = bound.safe_epsilon()
    assert bound.below(eps0) and eps0 < star
    cert = safety_certificate(mdp, D, eps0, L, critical_epsilon(mdp, D, L))
    assert cert["verdict"] == "safe" and checker.check_document(cert)[0] == "verified"


@pytest.mark.parametrize("u", [F(1, 4), F(1, 2), F(3, 4), F(1)])
def test_example_d14_attains_the_ratio_sqrt2(u):
    mdp = example_d14(u)
    D = uniform_distribution(mdp)
    star = critical_epsilon(mdp, D, u).critical_epsilon
    # by hand: f_b(uniform) = (1/3)(R(a) - R(b)) = 1/3, range R = 1/U, so eps* = U/3;
    # the bound is (1 - gamma)/sqrt2 * (range R/(1 - gamma))/range R * 1/3 * U = U/(3 sqrt 2).
    assert star == u / 3
    assert proposition_3_2(mdp, D, u).ratio_is_sqrt2(star)


# -- Proposition 3.3 and Corollary 3.4 ----------------------------------------------------

@settings(max_examples=40)
@given(st.data())
def test_every_proposition_3_3_witness_verifies(data):
    mdp = data.draw(mdps())
    D = data.draw(distributions(mdp))
    L = data.draw(regret_bounds)
    eps = data.draw(st.sampled_from([F(1, 10), F(1, 3), F(2, 3)]))
    found = proposition_3_3(mdp, D, eps, L)
    regrets = ref.regrets(mdp)
    expected = {frozenset(ref_support(mdp, pi)) for pi, r in regrets.items()
                if r >= L and sum(D[x] for x in ref_support(mdp, pi)) < eps}
    assert {w.support for w in found} == expected
    bounds = critical_epsilon(mdp, D, L).bounds
    for w in found:
        assert w.coverage < eps
        assert ref.is_witness(mdp, D, eps, L, w.witness.reward, w.witness.policy)
        cert = unsafe_certificate(mdp, D, eps, L, w.witness, bounds)
        assert checker.check_document(cert)[0] == "verified"


def ref_support(mdp, policy):
    """Pairs reachable under a deterministic policy, by graph search (independent of occupancy)."""
    m = mdp.n_actions
    frontier = [s for s, p in enumerate(mdp.initial) if p]
    seen = set(frontier)
    while frontier:
        s = frontier.pop()
        for t, p in ref.successors(mdp, s * m + policy[s]) if mdp.gamma else ():
            if t not in seen:
                seen.add(t)
                frontier.append(t)
    return {s * m + policy[s] for s in seen}


@settings(max_examples=30)
@given(st.data())
def test_corollary_3_4_family_is_largest_disjoint_and_bounds_eps_star_star(data):
    mdp = data.draw(mdps(max_states=2, max_actions=3))
    L = data.draw(regret_bounds)
    family = corollary_3_4(mdp, L)
    regrets = ref.regrets(mdp)
    supports = {frozenset(ref_support(mdp, pi)) for pi, r in regrets.items() if r >= L}
    best = 0
    for k in range(len(supports), 0, -1):
        if any(all(not (a & b) for a, b in itertools.combinations(combo, 2))
               for combo in itertools.combinations(supports, k)):
            best = k
            break
    assert family.size == best
    assert all(regrets[pi] >= L for pi in family.policies)
    assert all(not (a & b) for a, b in itertools.combinations(family.supports, 2))
    if not family.size:
        return
    safest = safest_distribution(mdp, L)
    assert safest.max_critical_epsilon <= family.epsilon_bound
    # Cor. 3.4's proof: at eps = 1/K some member has D-mass <= eps, and its witness verifies
    D = data.draw(distributions(mdp))
    member = min(family.policies, key=lambda pi: sum(D[x] for x in ref_support(mdp, pi)))
    from rewardcert.symbolic.paper.section3 import proposition_3_3_witness
    w = proposition_3_3_witness(mdp, D, member, safest.threshold.bounds)
    cert = unsafe_certificate(mdp, D, family.epsilon_bound, L, w.witness, safest.threshold.bounds)
    assert checker.check_document(cert)[0] == "verified"


# -- the safest data distribution ----------------------------------------------------------

@settings(max_examples=30)
@given(st.data())
def test_safest_distribution_beats_every_sampled_distribution_and_matches_m(data):
    mdp = data.draw(mdps(max_states=3, max_actions=3))
    L = data.draw(regret_bounds)
    safest = safest_distribution(mdp, L)
    if safest.max_critical_epsilon is None:
        assert critical_epsilon(mdp, uniform_distribution(mdp), L).critical_epsilon is None
        return
    assert critical_epsilon(mdp, safest.data, L).critical_epsilon == safest.max_critical_epsilon
    for _ in range(3):
        D = data.draw(distributions(mdp))
        assert critical_epsilon(mdp, D, L).critical_epsilon <= safest.max_critical_epsilon
    assert safest.max_critical_epsilon <= ref.constant_model_bound(mdp, safest.data)
    full = safest_distribution(mdp, L, matrix=safety_matrix(mdp, L, mark_redundant=False))
    assert full.max_critical_epsilon == safest.max_critical_epsilon
    assert checker.check_document(safest_certificate(mdp, L, safest))[0] == "verified"


def _exact_game_value(rows, mdp):
    """max over D on the enabled pairs of min_k row_k·D, by the exact simplex (no floats)."""
    from rewardcert.symbolic.exact.familylp import linear_program
    N = mdp.n_pairs
    a_ub = [[-c for c in row.coefficients] + [1] for row in rows]
    a_eq = [[1] * N + [0]] + [[int(y == x) for y in range(N)] + [0] for x in range(N) if not mdp.is_enabled(x)]
    result = linear_program([0] * N + [1], a_ub, [0] * len(rows), a_eq, [1] + [0] * (len(a_eq) - 1))
    return F(int(result.x[N].p), int(result.x[N].q))


@pytest.mark.parametrize("seed, n, m, L", [(12, 4, 2, F(1, 2)), (3, 3, 3, F(1, 4)), (5, 3, 2, F(1, 2))])
def test_the_safest_lp_solved_on_float_supports_is_the_exact_optimum(seed, n, m, L):
    # _best_over_rows keeps a float-guided solution only if its two bounds meet exactly; the
    # value must be the exact simplex's, on M's rows and on every prefix of them.
    from rewardcert.symbolic.paper import safest as paper
    mdp = ref_random_mdp(seed, n, m)
    rows = safety_matrix(mdp, L, mark_redundant=False).rows
    solved = 0
    for end in sorted({1, 2, 3, len(rows) // 2, len(rows)}):
        exact = paper._game_on_supports(mdp, rows[:end])
        expected = _exact_game_value(rows[:end], mdp)
        if exact is not None:
            data, tau, weights = exact
            solved += 1
            assert tau * mdp.range_reward == expected
            assert sum(data) == 1 and min(data) >= 0 and sum(weights) == 1 and min(weights) >= 0
            assert min(dot(r.coefficients, data) for r in rows[:end]) == expected
        assert paper._best_over_rows(mdp, rows[:end])[1] * mdp.range_reward == expected
    assert solved >= 3       # the float path did the work


def test_a_lying_game_solver_cannot_change_the_safest_distribution(monkeypatch):
    import numpy as np
    from rewardcert.symbolic.guidance import highs
    from rewardcert.symbolic.paper import safest as paper
    mdp = ref_random_mdp(12, 4, 2)
    honest = safest_distribution(mdp, F(1, 2))
    rng = np.random.default_rng(3)
    monkeypatch.setattr(highs, "game_solution",
                        lambda rows: (rng.random(len(rows[0])), rng.random(len(rows))))
    assert paper._game_on_supports(mdp, safety_matrix(mdp, F(1, 2), mark_redundant=False).rows) is None
    lied = safest_distribution(mdp, F(1, 2))
    assert lied.max_critical_epsilon == honest.max_critical_epsilon
    assert checker.check_document(safest_certificate(mdp, F(1, 2), lied))[0] == "verified"


def test_a_safest_certificate_may_carry_occupancy_bounds():
    # The threshold search under a safest claim closes families with regret-aware leaves and
    # occupancy bounds (format §3.7, §3.7a); the checker used to refuse those in a safest
    # certificate, so `safest -o` failed on such models.
    mdp = ref_random_mdp(12, 4, 2)
    safest = safest_distribution(mdp, F(1, 2))
    document = safest_certificate(mdp, F(1, 2), safest)
    assert "occupancy" in json.dumps(document["evidence"])
    assert checker.check_document(document)[0] == "verified"
    assert safest.max_critical_epsilon * mdp.range_reward == \
        _exact_game_value(safety_matrix(mdp, F(1, 2), mark_redundant=False).rows, mdp)


def test_safest_command_json(capsys):
    assert main(["safest", str(EXAMPLES / "figure4.toml"), "--regret", "4/5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # Figure 4 by hand: D = (1/2, 0, 1/2) gives rows (0.8*0.5+0.38*0.5, 1.18*0.5, 1.18*0.5) = 0.59 each,
    # i.e. eps* = 0.59/1.18 = 1/2, which is also the constant-model ceiling.
    assert out["max_critical_epsilon"] == "1/2"
    assert out["data"] == {"s": {"a1": "1/2", "a2": "0", "a3": "1/2"}}


# -- theorem instances ---------------------------------------------------------------------

@settings(max_examples=12)
@given(st.data())
def test_no_theorem_disagrees_on_random_instances(data):
    mdp = data.draw(mdps(max_states=2, max_actions=3))
    D = data.draw(distributions(mdp))
    report = theorem_instances(mdp, D, data.draw(st.sampled_from([F(1, 20), F(1, 4), F(1, 2)])),
                               data.draw(regret_bounds))
    assert not report.disagreements
    for name, document in report.certificates.items():
        assert checker.check_document(document)[0] == "verified", name


def test_a_wrong_conclusion_is_a_loud_failure(monkeypatch, tmp_path, capsys):
    from rewardcert.symbolic.paper.closed_form import Proposition32

    import rewardcert.theorem_checks.exact as theorems

    def inflated(mdp, data, L, bounds=None):   # a "paper" whose Prop. 3.2 bound is 100 times too large
        real = proposition_3_2(mdp, data, L, bounds)
        return Proposition32(real.q * 100, real.gamma, real.range_return, real.range_reward,
                             real.min_data, real.regret_bound)

    monkeypatch.setattr(theorems, "proposition_3_2", inflated)
    code = main(["theorems", str(EXAMPLES / "example-d14.toml"), "--epsilon", "1/10", "--regret", "1/2",
                 "--out", str(tmp_path)])
    assert code == 4
    assert "DISAGREEMENT" in capsys.readouterr().out
    assert "DISAGREEMENT" in (tmp_path / "report.md").read_text()


def test_theorems_command_writes_verified_certificates(tmp_path, capsys):
    assert main(["theorems", str(EXAMPLES / "chatbot.toml"), "--epsilon", "1/5", "--regret", "1/2",
                 "--out", str(tmp_path), "--latex"]) == 0
    assert "Proposition 3.3" in (tmp_path / "report.md").read_text()
    assert "\\begin{tabular}" in (tmp_path / "report.tex").read_text()
    certificates = sorted(tmp_path.glob("*.json"))
    assert {p.name for p in certificates} >= {"threshold.json", "unsafe.json", "safest.json",
                                              "proposition-3.3-unsafe.json"}
    for path in certificates:
        assert checker.check_file(str(path))[0] == "verified", path


# -- checked-in instances and the pytest plugin ---------------------------------------------

def test_checked_in_instances_are_reproducible():
    produced = instances()
    on_disk = {p.name for p in INSTANCES.glob("*.json")}
    assert on_disk == set(produced)
    for name, document in produced.items():
        assert (INSTANCES / name).read_text(encoding="utf-8") == render(document), name


def test_instances_verify_in_a_bare_interpreter():
    for path in sorted(INSTANCES.glob("*.json")):
        done = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "proofs" / "checker.py"), str(path)],
                              capture_output=True, text=True, timeout=120)
        assert (done.returncode, done.stdout.strip()) == (0, "VERIFIED"), (path, done.stdout, done.stderr)


def test_plugin_fixtures(rewardcert_check, rewardcert_certify, rewardcert_theorems):
    assert rewardcert_check(INSTANCES / "figure4-safe.json")["verdict"] == "safe"
    rewardcert_certify(EXAMPLES / "figure4.toml", EXAMPLES / "figure4-data.toml",
                       epsilon="1/5", regret="4/5", expect="safe")
    rewardcert_certify(EXAMPLES / "figure4.toml", EXAMPLES / "figure4-data-unsafe.toml",
                       epsilon="1/5", regret="4/5", expect="unsafe")
    report = rewardcert_theorems(EXAMPLES / "example-d14.toml", epsilon="1/10", regret="1/2")
    assert report.critical_epsilon == F(1, 6)
    with pytest.raises(AssertionError):
        rewardcert_certify(EXAMPLES / "figure4.toml", "uniform", epsilon="1/2", regret="4/5", expect="safe")


def test_plugin_collects_certificate_files_as_tests(tmp_path):
    good = (INSTANCES / "figure4-safe.json").read_text()
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "good.json").write_text(good)
    (tmp_path / "certs" / "bad.json").write_text(good.replace('"epsilon": "1/5"', '"epsilon": "1/2"'))
    (tmp_path / "pytest.ini").write_text("[pytest]\nrewardcert_certificates = certs/*.json\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "certs"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout
    assert "1 passed" in done.stdout and "1 failed" in done.stdout
    assert "REJECTED: dual-value" in done.stdout
