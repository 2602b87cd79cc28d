"""Per-state action sets (issue 10): the ``[enabled]`` table, every layer respecting it,
and the checker refusing certificates that use or hide disabled actions.

Independent references: ``tests/reference.py`` enumerates only the enabled policies and
computes ``ε*(D)`` by brute force over the vertices of each error LP of the *true* MDP
(bases among enabled pairs); and an MDP whose states all enable ``k`` actions is
relabelled into an ordinary ``k``-action MDP with no ``enabled`` table at all, which
the (trusted, λ = 0) engine must treat identically.
"""

from __future__ import annotations

import copy
import json
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.errors import ModelError
from rewardcert.symbolic.core.io import (
    load_model,
    model_from_document,
    model_to_document,
)
from rewardcert.symbolic.core.model import MDP, uniform_distribution
from rewardcert.symbolic.exact.evaluation import enumerate_policies
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.paper.matrix import paper_algorithm_rows, safety_matrix
from rewardcert.symbolic.paper.safest import safest_distribution
from rewardcert.symbolic.search.engine import critical_epsilon

from rewardcert import lp, smt
from rewardcert.certificates import (
    safest_certificate,
    safety_certificate,
    threshold_certificate,
)
from rewardcert.cli import main
from tests import reference as ref
from tests.strategies import enabled_distributions, enabled_mdps

regret_bounds = st.integers(1, 10).map(lambda k: F(k, 10))

BASE = """\
format = "rewardcert/mdp-1"
gamma = "1/2"
states = ["s", "t"]
actions = ["a", "b", "c"]
initial = { s = "1" }

[enabled]
t = ["a", "c"]

[reward.s]
a = "1"
b = "0"
c = "1/2"

[reward.t]
a = "2"
c = "-1"

[transitions.s]
a = { t = "1" }
b = { s = "1" }
c = { s = "1/2", t = "1/2" }

[transitions.t]
a = { t = "1" }
c = { s = "1" }
"""


def write(tmp_path, text, name="m.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- the file format -------------------------------------------------------------------

def test_enabled_table_loads_and_round_trips(tmp_path):
    mdp = load_model(write(tmp_path, BASE)).mdp
    assert mdp.enabled == ((0, 1, 2), (0, 2))
    assert mdp.n_deterministic_policies == 3 * 2
    assert list(mdp.deterministic_policies()) == [(a, b) for a in range(3) for b in (0, 2)]
    assert mdp.range_reward == 3            # over enabled pairs: 2 - (-1), the inert (t, b) ignored
    again, _ = model_from_document(json.loads(json.dumps(model_to_document(mdp))))
    assert again == mdp
    assert "b" not in model_to_document(mdp)["reward"]["t"]


def test_a_model_without_enabled_means_what_it_meant(tmp_path):
    text = BASE.replace('[enabled]\nt = ["a", "c"]\n', "").replace('c = "-1"', 'b = "0"\nc = "-1"') \
        .replace('c = { s = "1" }', 'b = { s = "1" }\nc = { s = "1" }')
    mdp = load_model(write(tmp_path, text)).mdp
    assert mdp.enabled is None and mdp.n_deterministic_policies == 9
    listing = BASE.replace('t = ["a", "c"]', 't = ["a", "b", "c"]').replace('c = "-1"', 'b = "0"\nc = "-1"') \
        .replace('c = { s = "1" }', 'b = { s = "1" }\nc = { s = "1" }')
    assert load_model(write(tmp_path, listing, "n.toml")).mdp == mdp   # listing every action = omitting


@pytest.mark.parametrize("edit, where, fragment", [
    (('[reward.t]\na = "2"', '[reward.t]\na = "2"\nb = "0"'), "[reward.t] b:", "not enabled in state 't'"),
    (('[transitions.t]\na = { t = "1" }', '[transitions.t]\na = { t = "1" }\nb = { t = "1" }'),
     "[transitions.t] b:", "not enabled"),
    (('t = ["a", "c"]', 't = ["a", "d"]'), "[enabled.t] d:", "unknown action 'd'"),
    (('t = ["a", "c"]', 't = []'), "[enabled] t:", "non-empty list"),
    (('t = ["a", "c"]', 't = ["a", "a"]'), "[enabled] t:", "listed twice"),
    (('t = ["a", "c"]', 'u = ["a"]'), "[enabled] u:", "unknown state"),
    (('t = ["a", "c"]', 't = "a"'), "[enabled] t:", "non-empty list"),
    (('[reward.t]\na = "2"\n', '[reward.t]\n'), "[reward.t] a:", "missing reward entry"),
])
def test_entries_for_disabled_pairs_and_bad_tables_are_refused_by_name(tmp_path, edit, where, fragment):
    old, new = edit
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new))
    with pytest.raises(ModelError) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {where}") and fragment in message, message


def test_data_on_a_disabled_pair_is_refused(tmp_path):
    path = write(tmp_path, BASE + '\n[data]\ns = { a = "1/2" }\nt = { b = "1/2" }\n')
    with pytest.raises(ModelError, match=r"\[data.t\] b: .*not enabled"):
        load_model(path)
    assert main(["evaluate", path]) == 2


def test_uniform_data_covers_enabled_pairs_only(tmp_path):
    mdp = load_model(write(tmp_path, BASE)).mdp
    uniform = uniform_distribution(mdp)
    assert uniform[mdp.pair(1, 1)] == 0 and set(uniform) == {F(0), F(1, 5)}


# -- every layer against the brute force -------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.data())
def test_engine_smt_lp_matrix_and_checker_agree_with_brute_force_on_action_sets(data):
    mdp = data.draw(enabled_mdps(max_states=3, max_actions=3))
    D = data.draw(enabled_distributions(mdp))
    L = data.draw(regret_bounds)

    bounds = return_bounds(mdp)
    brute = ref.returns(mdp)
    assert (bounds.optimal_return, bounds.pessimal_return) == (max(brute.values()), min(brute.values()))
    assert sorted(e.policy for e in enumerate_policies(mdp)) == sorted(ref.policies(mdp))

    star, attack = ref.critical_epsilon(mdp, D, L)
    exact = critical_epsilon(mdp, D, L)
    assert exact.critical_epsilon == star
    if star is not None:
        w = exact.witness
        assert all(mdp.is_enabled(s * mdp.n_actions + a) for s, a in enumerate(w.policy))
        assert ref.is_witness(mdp, D, star, L, w.reward, w.policy)
        assert ref.is_witness(mdp, D, star, L, *attack)       # the reference's own minimiser is real
    # The SMT layer: the same exact minimum; the LP layer agrees within its tolerance.
    assert smt.minimise_error(mdp, D, L).critical_epsilon == star
    cross = lp.cross_check(mdp, D, L, exact)
    assert cross.agree, cross.failures
    # Theorem 3.5's M: zero columns at disabled pairs and the same eps*(D).
    if mdp.n_deterministic_policies <= 27:
        matrix = safety_matrix(mdp, L, mark_redundant=False)
        assert matrix.critical_epsilon(D) == star
        for row in matrix.rows:
            assert all(c == 0 for x, c in enumerate(row.coefficients) if not mdp.is_enabled(x))
            assert ref.is_witness(mdp, D, sum(d * c for d, c in zip(D, row.coefficients)) / ref.range_reward(mdp),
                                  L, row.witness, row.policy)
    # Certificates: both kinds verify in the standalone checker.
    for eps in (F(1, 10), F(1, 2)):
        for document in (threshold_certificate(mdp, D, L, exact), safety_certificate(mdp, D, eps, L, exact)):
            status, message, _ = checker.check_document(json.loads(json.dumps(document)))
            assert status == "verified", message


@settings(max_examples=15, deadline=None)
@given(enabled_mdps(max_states=2, max_actions=3), regret_bounds)
def test_safest_distribution_lives_on_enabled_pairs_and_is_certified(mdp, L):
    result = safest_distribution(mdp, L)
    assert all(p == 0 for x, p in enumerate(result.data) if not mdp.is_enabled(x))
    if result.max_critical_epsilon is not None:
        star, _ = ref.critical_epsilon(mdp, result.data, L)
        assert star == result.max_critical_epsilon
        full = safest_distribution(mdp, L, matrix=safety_matrix(mdp, L, mark_redundant=False))
        assert full.max_critical_epsilon == result.max_critical_epsilon
        status, message, _ = checker.check_document(json.loads(json.dumps(safest_certificate(mdp, L, result))))
        assert status == "verified", message


def relabelled(mdp: MDP) -> MDP:
    """The same MDP with action j of state s meaning s's j-th enabled action, no ``enabled`` table."""
    k = len(mdp.enabled_actions(0))
    m = mdp.n_actions
    index = [[s * m + a for a in mdp.enabled_actions(s)] for s in range(mdp.n_states)]
    pairs = [x for row in index for x in row]
    transitions = None if mdp.transitions is None else tuple(mdp.transitions[x] for x in pairs)
    return MDP(mdp.states, tuple(f"k{j}" for j in range(k)), mdp.gamma, mdp.initial,
               tuple(mdp.reward[x] for x in pairs), transitions), pairs


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_an_mdp_with_equal_sized_action_sets_behaves_like_its_relabelling(data):
    mdp = data.draw(enabled_mdps(max_states=3, max_actions=3, same_count=True))
    D = data.draw(enabled_distributions(mdp))
    L = data.draw(regret_bounds)
    plain, pairs = relabelled(mdp)
    D_plain = tuple(D[x] for x in pairs)
    assert return_bounds(mdp).optimal_return == return_bounds(plain).optimal_return
    assert critical_epsilon(mdp, D, L).critical_epsilon == critical_epsilon(plain, D_plain, L).critical_epsilon
    if plain.n_deterministic_policies <= 27:
        rows = {tuple(r.coefficients[x] for x in pairs) for r in safety_matrix(mdp, L, mark_redundant=False).rows}
        assert rows == {r.coefficients for r in safety_matrix(plain, L, mark_redundant=False).rows}
        if plain.n_deterministic_policies <= 8:
            projected = {tuple(row[x] for x in pairs) for row in paper_algorithm_rows(mdp, L)}
            assert projected == set(paper_algorithm_rows(plain, L))


def test_padding_a_disabled_action_with_a_copy_is_unsound():
    """Why the engine never pads: a data-free copy of a bad action is a free attack."""
    true = MDP(("s",), ("good", "bad", "missing"), F(0), (F(1),), (F(1), F(0), F(0)), None,
               enabled=((0, 1),))
    D = uniform_distribution(true)
    assert critical_epsilon(true, D, F(1)).critical_epsilon == F(1, 2)
    padded = MDP(("s",), ("good", "bad", "copy-of-bad"), F(0), (F(1),), (F(1), F(0), F(0)), None)
    assert critical_epsilon(padded, D, F(1)).critical_epsilon == 0      # R̂(copy) = 2 costs nothing


# -- tampering -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificates():
    mdp = MDP(("s", "t"), ("a", "b", "c"), F(1, 2), (F(1), F(0)),
              (F(1), F(0), F(1, 2), F(2), F(0), F(-1)),
              ((( 1, F(1)),), ((0, F(1)),), ((0, F(1, 2)), (1, F(1, 2))), ((1, F(1)),), ((1, F(1)),), ((0, F(1)),)),
              enabled=((0, 1, 2), (0, 2)))
    D = uniform_distribution(mdp)
    L = F(1, 2)
    result = critical_epsilon(mdp, D, L)
    assert result.critical_epsilon is not None and 0 < result.critical_epsilon
    safest = safest_certificate(mdp, L, safest_distribution(mdp, L))
    docs = {"safest": safest, "threshold": threshold_certificate(mdp, D, L, result),
            "safe": safety_certificate(mdp, D, result.critical_epsilon / 2, L, result),
            "unsafe": safety_certificate(mdp, D, result.critical_epsilon, L, result)}
    for doc in docs.values():
        assert checker.check_document(copy.deepcopy(doc))[0] == "verified"
    return docs


def _first_dual(tree):
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.get("close") == "dual":
            return node
        stack.extend(node.get("children", {}).values())
    return None


def _disable_drop(doc):
    del doc["instance"]["model"]["enabled"]


def _enable_more(doc):
    doc["instance"]["model"]["enabled"]["t"] = ["a", "b", "c"]


def _reward_on_disabled(doc):
    doc["instance"]["model"]["reward"]["t"]["b"] = "5"


def _transition_on_disabled(doc):
    doc["instance"]["model"]["transitions"]["t"]["b"] = {"t": "1"}


def _data_on_disabled(doc):
    doc["instance"]["data"]["t"]["b"] = "0"


def _witness_disabled(doc):
    doc["evidence"]["witness"]["policy"]["t"] = "b"


def _witness_reward_on_disabled(doc):
    doc["evidence"]["witness"]["reward"]["t"]["b"] = "0"


def _optimal_disabled(doc):
    doc["evidence"]["optimal_policy"]["t"] = "b"


def _pessimal_disabled(doc):
    doc["evidence"]["pessimal_policy"]["t"] = "b"


def _extra_child(doc):
    stack = [doc["evidence"]["tree"]]
    while stack:
        node = stack.pop()
        if node.get("split") == "t":
            node["children"]["b"] = copy.deepcopy(next(iter(node["children"].values())))
            return
        stack.extend(node.get("children", {}).values())
    raise AssertionError("no split on t")


def _dual_on_disabled(doc):
    leaf = _first_dual(doc["evidence"]["tree"])
    leaf["y"].setdefault("t", {})["b"] = "0"


def _regret_leaf_disabled(doc):
    stack = [doc["evidence"]["tree"]]
    while stack:
        node = stack.pop()
        if node.get("close") == "regret":
            node["policy"]["t"] = "b"
            return
        stack.extend(node.get("children", {}).values())
    raise AssertionError("no regret leaf")


def _cover_reward_on_disabled(doc):
    doc["evidence"]["cover"]["witnesses"][0]["reward"]["t"]["b"] = "0"


def _cover_policy_disabled(doc):
    doc["evidence"]["cover"]["witnesses"][0]["policy"]["t"] = "b"


def _unknown_enabled_action(doc):
    doc["instance"]["model"]["enabled"]["t"] = ["a", "z"]


@pytest.mark.parametrize("kind, tamper, rule", [
    ("threshold", _disable_drop, "model"),
    ("threshold", _enable_more, "model"),
    ("threshold", _unknown_enabled_action, "model"),
    ("threshold", _reward_on_disabled, "model"),
    ("threshold", _transition_on_disabled, "model"),
    ("threshold", _data_on_disabled, "data"),
    ("unsafe", _witness_disabled, "witness-optimal"),
    ("unsafe", _witness_reward_on_disabled, "witness-reward"),
    ("safe", _optimal_disabled, "optimal-policy"),
    ("safe", _pessimal_disabled, "pessimal-policy"),
    ("safe", _extra_child, "tree-split"),
    ("threshold", _dual_on_disabled, "dual-bounds"),
    ("safe", _regret_leaf_disabled, "regret-member"),
    ("safest", _cover_reward_on_disabled, "cover-witness"),
    ("safest", _cover_policy_disabled, "cover-witness"),
])
def test_tampering_with_enabled_is_rejected(certificates, kind, tamper, rule):
    doc = copy.deepcopy(certificates[kind])
    tamper(doc)
    status, message, facts = checker.check_document(doc)
    assert status == "rejected" and facts["rule"] == rule, message


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_proposition_3_2_bound_holds_with_action_sets(data):
    """Prop. 3.2 on positive D (positive on every enabled pair), against the brute-force eps*."""
    from rewardcert.symbolic.paper.closed_form import proposition_3_2
    mdp = data.draw(enabled_mdps(max_states=3, max_actions=3))
    D = data.draw(enabled_distributions(mdp, allow_zeros=False))
    L = data.draw(regret_bounds)
    bound = proposition_3_2(mdp, D, L)
    assert bound.min_data == min(D[x] for x in ref.enabled_pairs(mdp)) > 0
    star, _ = ref.critical_epsilon(mdp, D, L)
    if bound.applies and star is not None:
        assert bound.at_most(star)


def test_plot_slices_refuse_disabled_axes_and_start_from_enabled_uniform(tmp_path):
    from rewardcert.plot import data_slice
    mdp = load_model(write(tmp_path, BASE)).mdp
    disabled, enabled = mdp.pair(1, 1), mdp.pair(1, 0)
    with pytest.raises(ModelError, match=r"--slice: t:b is a disabled pair"):
        data_slice(mdp, disabled, enabled, uniform_distribution(mdp))
    plane = data_slice(mdp, mdp.pair(0, 0), enabled, uniform_distribution(mdp))
    assert plane.data(F(1, 5), F(1, 5)) == uniform_distribution(mdp)


def test_layers_without_action_set_support_refuse_instead_of_mixing_over_disabled_actions(tmp_path, capsys):
    """λ > 0 (soft optima, π_ref over every action), RLHF and the §5 measures would let an inert
    disabled pair take part; until they respect [enabled] they refuse it in one line."""
    path = write(tmp_path, BASE)
    assert main(["certify", path, "--data", "uniform", "--epsilon", "1/100", "--regret", "1/2",
                 "--lambda", "1/2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not support per-state action sets yet" in err
    from rewardcert.symbolic.regularised.verdicts import regularised_threshold
    mdp = load_model(path).mdp
    with pytest.raises(ModelError, match="per-state action sets"):
        regularised_threshold(mdp, uniform_distribution(mdp), F(1, 2), F(1, 2))


def test_a_regularised_certificate_with_disabled_pairs_is_rejected():
    """The checker fails closed: the regularised rules mix over every action."""
    from tests.conftest import ROOT
    path = ROOT / "proofs" / "instances" / "regularised" / "chatbot-kl-lambda-1-2-unsafe.json"
    doc = json.loads(path.read_text())
    assert checker.check_document(copy.deepcopy(doc))[0] == "verified"
    instance = doc["instance"]
    instance["model"]["enabled"] = {"q_uns": [a for a in instance["model"]["actions"] if a != "refuse3"]}
    del instance["model"]["reward"]["q_uns"]["refuse3"]
    moved = F(instance["data"]["q_uns"].pop("refuse3"))
    instance["data"]["q_uns"]["refuse2"] = str(F(instance["data"]["q_uns"]["refuse2"]) + moved)
    status, message, facts = checker.check_document(doc)
    assert status == "rejected" and facts["rule"] == "reg-instance", message
