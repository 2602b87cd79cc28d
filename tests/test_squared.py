"""App. B.3, the mean-squared error at λ = 0: the exact ``ε*_MSE(D)`` against an independent brute
force (the QP's dual, by active sets, in sympy: tests/squared_reference.py), its certificates against
the standalone checker with tampering, the CLI, and the App. B.3 rows of ``theorems``."""

from __future__ import annotations

import copy
import json
import random
from fractions import Fraction as F

import pytest
from rewardcert.proofs import checker
from rewardcert.proofs.certcheck import squared as checker_squared
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import MDP, uniform_distribution
from rewardcert.symbolic.search import squared as engine
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.squared import policy_optimum, squared_threshold

from rewardcert.certificates import squared_certificate
from rewardcert.cli import main

from .conftest import EXAMPLES
from .squared_reference import dual_brute_force, squared_critical_brute_force

FIG4 = load_model(EXAMPLES / "figure4.toml").mdp
CI_RANDOM = 24          # the campaign of 200 is in docs/performance.md (benchmarks/campaign_squared.py)


def random_instance(rng: random.Random, *, zeros: bool = True, max_states: int = 3, max_actions: int = 3):
    """A small random MDP (rewards with denominators <= 4, ties common) and a data distribution,
    possibly with zeros."""
    n, m = rng.randint(1, max_states), rng.randint(2, max_actions)
    gamma = F(rng.randint(0, 5), 6)
    transitions = []
    for _ in range(n * m):
        targets = rng.sample(range(n), rng.randint(1, min(3, n)))
        weights = [rng.randint(1, 4) for _ in targets]
        transitions.append(tuple(sorted((t, F(w, sum(weights))) for t, w in zip(targets, weights))))
    reward = tuple(F(rng.randint(-6, 6), rng.randint(1, 4)) for _ in range(n * m))
    start = [rng.randint(0, 3) for _ in range(n)]
    start[0] += not sum(start)
    mdp = MDP(tuple(f"s{i}" for i in range(n)), tuple(f"a{j}" for j in range(m)), gamma,
              tuple(F(w, sum(start)) for w in start), reward, tuple(transitions), name="random")
    weights = [rng.randint(0 if zeros else 1, 4) for _ in range(n * m)]
    weights[0] += not sum(weights)
    return mdp, tuple(F(w, sum(weights)) for w in weights)


def _status(document) -> tuple[str, str]:
    status, message, facts = checker.check_document(json.loads(json.dumps(document)))
    return status, facts.get("rule", "")


# -- Figure 4, by hand ----------------------------------------------------------------------------

def test_figure_4_by_hand():
    # Only a3 has regret >= 4/5.  Making a3 optimal at least squared cost pools a1 and a3 at their mean
    # 2.19 (above a2's 1.98): g = (1/3) 2 (0.59)^2 = 3481/15000, and eps* = g / 1.18^2 = 1/6.
    result = squared_threshold(FIG4, uniform_distribution(FIG4), F(4, 5))
    assert result.critical_epsilon == F(1, 6)
    (optimum,) = result.optima
    assert optimum.policy == (2,) and optimum.value == F(3481, 15000)
    assert optimum.reward == (F(219, 100), F(99, 50), F(219, 100))
    assert optimum.multipliers == (F(59, 300), 0, F(-59, 300)) and optimum.active == (0,)
    # Prop B.1 here: eps*_MAE = 1/3, and (1/3)^2 <= 1/6.
    assert critical_epsilon(FIG4, uniform_distribution(FIG4), F(4, 5)).critical_epsilon ** 2 <= F(1, 6)


# -- the exact engine against the independent brute force -----------------------------------------

@pytest.mark.parametrize("seed", range(CI_RANDOM))
def test_critical_error_agrees_with_the_dual_brute_force(seed):
    rng = random.Random(1000 + seed)
    mdp, data = random_instance(rng, zeros=seed % 2 == 0)
    L = F(rng.randint(1, 4), 4)
    result = squared_threshold(mdp, data, L)
    assert result.critical_epsilon == squared_critical_brute_force(mdp, data, L)
    for optimum in result.optima:          # each KKT value is the QP's exact minimum
        assert optimum.value == dual_brute_force(mdp, data, optimum.policy)


def test_every_fallback_settles_a_policy():
    # Without the float guide's pieces the exact Newton steps, or the enumeration of pieces, settle it.
    rng = random.Random(7)
    mdp, data = random_instance(rng, zeros=False)
    policy = (0,) * mdp.n_states
    expected = dual_brute_force(mdp, data, policy)
    import rewardcert.symbolic.guidance.squaredfloat as guide
    real = guide.squared_values

    def misleading(mdp, data, policy, rows=None, iterations=200):
        return real(mdp, data, policy, rows, iterations) + 1000.0
    try:
        guide.squared_values = misleading
        assert policy_optimum(mdp, data, policy).value == expected
    finally:
        guide.squared_values = real


def test_prop_b1_and_the_squared_prop_3_2_bound_hold_on_random_positive_data():
    from rewardcert.symbolic.guidance.floatvi import return_bounds
    from rewardcert.symbolic.paper.closed_form import proposition_3_2
    rng = random.Random(3)
    for _ in range(8):
        mdp, data = random_instance(rng, zeros=False)
        L = F(1, 2)
        mse = squared_critical_brute_force(mdp, data, L)
        mae = critical_epsilon(mdp, data, L).critical_epsilon
        assert (mae is None) == (mse is None)
        if mae is None:
            continue
        assert mae ** 2 <= mse                                    # Prop B.1, every eps at once
        q = proposition_3_2(mdp, data, L, return_bounds(mdp)).q
        assert q * q / 2 <= mse                                   # App. B.3's squared Prop 3.2 bound


# -- certificates -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fig4_result():
    return squared_threshold(FIG4, uniform_distribution(FIG4), F(4, 5))


@pytest.fixture(scope="module")
def chain_case():
    chain = load_model(EXAMPLES / "chain3.toml")
    data = uniform_distribution(chain.mdp)
    return chain.mdp, data, squared_threshold(chain.mdp, data, F(1, 2))


def test_certificates_verify(fig4_result, chain_case):
    D = uniform_distribution(FIG4)
    for epsilon, verdict in ((None, "squared-threshold"), (F(1, 10), "squared-safe"), (F(1, 6), "squared-unsafe")):
        document = squared_certificate(FIG4, D, F(4, 5), fig4_result, epsilon)
        assert document["verdict"] == verdict and _status(document) == ("verified", "")
    mdp, data, result = chain_case
    assert len(result.optima) > 1
    for epsilon in (None, result.critical_epsilon / 2, result.critical_epsilon):
        assert _status(squared_certificate(mdp, data, F(1, 2), result, epsilon))[0] == "verified"


def test_tampering_is_rejected_by_its_rule(fig4_result):
    D = uniform_distribution(FIG4)
    base = squared_certificate(FIG4, D, F(4, 5), fig4_result)
    entry = lambda doc: doc["evidence"]["policies"][0]

    def mutant(change):
        doc = copy.deepcopy(base)
        change(doc)
        return _status(doc)
    # a multiplier that is not D (R - R^)
    assert mutant(lambda d: entry(d)["multipliers"]["s"].__setitem__("a1", "1/5")) == ("rejected", "sq-stationarity")
    # the witness moved: a3 is no longer optimal
    assert mutant(lambda d: entry(d)["reward"]["s"].__setitem__("a3", "2")) == ("rejected", "sq-primal")
    # the witness moved consistently with its multipliers, but no longer a no-source flow
    def shifted(d):
        entry(d)["reward"]["s"].update({"a1": "2", "a3": "2"})
        entry(d)["multipliers"]["s"].update({"a1": "13/50", "a3": "-2/15"})
    assert mutant(shifted) == ("rejected", "sq-flow")
    # the active constraint dropped: its multiplier is not 0
    assert mutant(lambda d: entry(d).__setitem__("active", [])) == ("rejected", "sq-complementarity")
    # an inactive pair listed as active
    assert mutant(lambda d: entry(d)["active"].append(["s", "a2"])) == ("rejected", "sq-active")
    # the policy entry dropped, or listed twice
    assert mutant(lambda d: d["evidence"].__setitem__("policies", [])) == ("rejected", "sq-policies")
    assert mutant(lambda d: d["evidence"]["policies"].append(entry(d))) == ("rejected", "sq-policies")
    # another critical error claimed
    assert mutant(lambda d: d["instance"].__setitem__("epsilon", "1/5")) == ("rejected", "sq-threshold")
    assert mutant(lambda d: d["instance"].__setitem__("epsilon", "inf")) == ("rejected", "sq-threshold")
    # the error measure dropped: a squared verdict needs it, an absolute one refuses it
    assert mutant(lambda d: d["instance"].pop("error")) == ("rejected", "sq-instance")
    assert mutant(lambda d: d.__setitem__("verdict", "threshold")) == ("rejected", "sq-instance")
    # a safe claim at the critical error itself
    safe = squared_certificate(FIG4, D, F(4, 5), fig4_result, F(1, 10))
    safe["instance"]["epsilon"] = "1/6"
    assert _status(safe) == ("rejected", "sq-safe-bound")
    unsafe = squared_certificate(FIG4, D, F(4, 5), fig4_result, F(1, 6))
    unsafe["instance"]["epsilon"] = "1/7"
    assert _status(unsafe) == ("rejected", "sq-witness")


def _instance_of(document):
    from rewardcert.symbolic.core.io import data_from_table, model_from_document
    mdp, _ = model_from_document(document["instance"]["model"])
    return mdp, data_from_table(mdp, document["instance"]["data"])


def _claim_holds(document) -> bool:
    """The claim recomputed from scratch on the (possibly mutated) instance, by the brute force."""
    mdp, data = _instance_of(document)
    L = F(document["instance"]["regret_bound"])
    star = squared_critical_brute_force(mdp, data, L)
    eps = document["instance"]["epsilon"]
    if document["verdict"] == "squared-threshold":
        return (star is None) if eps == "inf" else star == F(eps)
    eps = F(eps)
    safe = star is None or eps < star
    return safe if document["verdict"] == "squared-safe" else not safe


def test_random_mutants_are_rejected_or_true(chain_case):
    mdp, data, result = chain_case
    rng = random.Random(11)
    documents = [squared_certificate(mdp, data, F(1, 2), result, eps)
                 for eps in (None, result.critical_epsilon / 2, result.critical_epsilon)]
    values = ["0", "1", "-1", "1/2", "1/3", "2", "1/1000", "3/7"]
    kept = 0
    for k in range(60):
        doc = copy.deepcopy(documents[k % 3])
        leaves = []

        def walk(node, path):
            if isinstance(node, dict):
                for key, value in node.items():
                    walk(value, path + [key])
            elif isinstance(node, list):
                for i, value in enumerate(node):
                    walk(value, path + [i])
            elif isinstance(node, str) and node.lstrip("-").replace("/", "").isdigit():
                leaves.append(path)
        walk(doc, [])
        path = rng.choice(leaves)
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = rng.choice(values)
        status, _ = _status(doc)
        if status == "verified":
            kept += 1
            try:
                holds = _claim_holds(doc)
            except Exception:
                holds = False
            assert holds, (path, target[path[-1]])
    assert kept < 60


def test_the_checker_enumerates_as_many_policies_as_the_toolkit():
    assert checker_squared.MAX_SQUARED_POLICIES == engine.MAX_SQUARED_POLICIES


# -- the command line --------------------------------------------------------------------------------

def test_threshold_and_certify_with_squared_error(tmp_path, capsys):
    out = tmp_path / "t.json"
    assert main(["threshold", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--regret", "4/5",
                 "--error", "squared", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "eps*_MSE(D) = 1/6" in printed and checker.check_file(str(out))[0] == "verified"
    assert main(["certify", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--regret", "4/5",
                 "--epsilon", "1/7", "--error", "squared", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "safe"
    assert main(["certify", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--regret", "4/5",
                 "--epsilon", "1/6", "--error", "squared"]) == 1
    assert "UNSAFE" in capsys.readouterr().out


def test_squared_error_refuses_lambda_and_too_many_policies(tmp_path, capsys):
    assert main(["certify", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--regret", "4/5",
                 "--epsilon", "1/7", "--error", "squared", "--lambda", "1"]) == 2
    assert "lambda = 0" in capsys.readouterr().err
    assert main(["threshold", str(EXAMPLES / "frozenlake4x4.toml"), "--data", "uniform", "--regret", "1/2",
                 "--error", "squared"]) == 2
    err = capsys.readouterr().err
    assert "at most 4096" in err and "--error squared" in err


def test_theorems_with_squared_error(capsys):
    code = main(["theorems", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--epsilon", "1/5",
                 "--regret", "4/5", "--error", "squared", "--json"])
    rows = {c["result"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert code == 0
    assert rows["Proposition B.1"]["agrees"] is True and rows["Proposition B.1"]["hypothesis_holds"] is True
    assert "eps*_MSE(D) = 1/6" in rows["Theorem E (the toolkit's; exact threshold with the MSE, App. B.3)"]["conclusion"]
    assert rows["Proposition 3.2 (MSE, App. B.3)"]["agrees"] is True


def test_the_documented_example_is_real_output(fig4_result):
    from .conftest import ROOT
    text = (ROOT / "docs" / "certificate-format.md").read_text(encoding="utf-8")
    section = text[text.index("### 3.9"):text.index("## 4. Worked example")]
    block = section[section.index("```json") + len("```json"):]
    shown = json.loads(block[:block.index("```")])
    document = squared_certificate(FIG4, uniform_distribution(FIG4), F(4, 5), fig4_result)
    assert document["evidence"]["policies"] == [shown]
    assert document["instance"]["epsilon"] == "1/6"
