"""Occupancy bounds for one family's members (certificate-format §3.7a): sound, checked, needed."""

import copy
import itertools
import random
from fractions import Fraction as F

import pytest
import rewardcert.symbolic.guidance.floatjit as floatjit
import rewardcert.symbolic.search.engine as safety
from rewardcert.proofs import checker
from rewardcert.symbolic.core.model import uniform_distribution
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.exact.duplicates import duplicate_actions
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.occupancy import FamilyOccupancy, occupancy_bounds

from benchmarks.common import random_distribution, random_mdp
from benchmarks.environments import frozen_lake
from rewardcert.certificates import (
    interval_certificate,
    safety_certificate,
    threshold_certificate,
)
from tests import reference
from tests.test_seed import brute_force


@pytest.fixture
def shallow(monkeypatch):
    """Lower H at depths 1 to 3, so that small trees use the rule."""
    monkeypatch.setattr(safety, "NODE_OCCUPANCY_DEPTHS", frozenset((1, 2, 3)))


def nodes_with_occupancy(tree):
    stack, found = [(tree, ())], []
    while stack:
        node, path = stack.pop()
        if "occupancy" in node:
            found.append((node, path))
        for action, child in node.get("children", {}).items():
            stack.append((child, path + ((node["split"], action),)))
    return found


def members(mdp, family, enabled):
    return itertools.product(*((a,) if a is not None else enabled[s] for s, a in enumerate(family)))


@pytest.mark.parametrize("kernel", ["numpy", "compiled"])
def test_a_family_bound_covers_every_member_and_is_below_the_global_one(kernel):
    # Against the exact occupancy of every member, by the test suite's own Gaussian elimination;
    # with the float policy iteration in numpy and compiled (symbolic/guidance/floatjit.py).
    if kernel == "compiled" and floatjit.kernel() is None:
        pytest.skip("numba is not installed: no compiled kernel")
    for seed in range(6):
        mdp = random_mdp(500 + seed, 5, 3)
        enabled = [tuple(mdp.enabled_actions(s)) for s in range(mdp.n_states)]
        bounds = occupancy_bounds(mdp)
        family_occupancy = FamilyOccupancy(mdp, enabled)
        family_occupancy.kernel = floatjit.kernel() if kernel == "compiled" else None
        family_occupancy.calls = -10 ** 9          # no switch mid-test
        rng = random.Random(seed)
        for _ in range(4):
            family = [rng.choice(enabled[s]) if rng.random() < 0.5 else None for s in range(mdp.n_states)]
            horizon, vectors, _ = family_occupancy.refine(family, list(bounds.horizon))
            most = [max(reference.occupancy(mdp, policy)[s * mdp.n_actions + policy[s]]
                        for policy in members(mdp, family, enabled)) for s in range(mdp.n_states)]
            for s in range(mdp.n_states):
                assert most[s] <= horizon[s] <= bounds.horizon[s]
                if s in vectors:
                    u = list(vectors[s])
                    assert horizon[s] == sum(p * v for p, v in zip(mdp.initial, u))
                    assert horizon[s] - most[s] < F(1, 10 ** 5) * (1 + most[s])     # tight, up to the margin


def test_the_integer_check_agrees_with_the_python_integer_one():
    mdp = random_mdp(77, 6, 3)
    enabled = [tuple(mdp.enabled_actions(s)) for s in range(mdp.n_states)]
    fast = FamilyOccupancy(mdp, enabled)
    slow = FamilyOccupancy(mdp, enabled)
    slow.rows64 = None                       # forces the object-dtype (Python integer) products
    family = [enabled[0][0], None, enabled[2][-1], None, None, None]
    cap = [1 / (1 - mdp.gamma)] * mdp.n_states
    assert fast.refine(family, cap)[:2] == slow.refine(family, cap)[:2]
    # And both reject a vector lowered below the superharmonic one.
    _, vectors, _ = fast.refine(family, cap)
    s, u = next(iter(vectors.items()))
    import numpy as np
    pairs = np.flatnonzero([family[x // 3] in (None, x % 3) and mdp.is_enabled(x) for x in range(18)])
    low = np.array([[v - 2 ** 20 if k == s else v for k, v in enumerate(u.numerators)]], dtype=float)
    assert fast._superharmonic(low, [s], pairs) == [None]
    assert slow._superharmonic(low, [s], pairs) == [None]


def test_the_search_with_family_bounds_gives_the_brute_force_answer(shallow):
    used = 0
    for seed in range(12):
        mdp = random_mdp(900 + seed, 5 + seed % 2, 2 + seed % 2)
        D = random_distribution(seed, mdp, zeros=F(seed % 3, 4))
        for L in (F(1, 4), F(3, 4)):
            star, _ = brute_force(mdp, D, L)
            result = critical_epsilon(mdp, D, L)
            assert result.complete and result.critical_epsilon == star
            if result.bounds.degenerate:
                continue
            document = threshold_certificate(mdp, D, L, result)
            assert checker.check_document(document)[0] == "verified"
            used += len(nodes_with_occupancy(document["evidence"]["tree"]))
            if star:                 # (a certificate's epsilon is > 0)
                for epsilon in (star / 2, star):
                    decided = critical_epsilon(mdp, D, L, decide_epsilon=epsilon)
                    assert decided.verdict(epsilon) is (Verdict.SAFE if epsilon < star else
                                                        Verdict.UNSAFE)
                    certificate = safety_certificate(mdp, D, epsilon, L, decided)
                    assert checker.check_document(certificate)[0] == "verified"
    assert used > 0          # the rule was exercised, not only allowed


def lake_certificate(L=F(1, 2)):
    lake = frozen_lake(3, 0)
    D = uniform_distribution(lake)
    return lake, D, L, critical_epsilon(lake, D, L, polish_incumbents=False)


def test_family_bounds_close_families_the_global_bound_cannot(shallow):
    lake, D, L, result = lake_certificate()
    plain = critical_epsilon(lake, D, L, polish_incumbents=False, family_occupancy=False)
    assert result.critical_epsilon == plain.critical_epsilon
    assert result.stats.nodes < plain.stats.nodes                     # 766 against 1,171 when written
    document = threshold_certificate(lake, D, L, result)
    assert checker.check_document(document)[0] == "verified"
    # Without the node bounds some regret-dual leaf fails: the family bounds did close it.
    stripped = copy.deepcopy(document)
    for node, _ in nodes_with_occupancy(stripped["evidence"]["tree"]):
        del node["occupancy"]
    status, message, _ = checker.check_document(stripped)
    assert status == "rejected" and "regret-dual-bounds" in message


def unneeded_node_vectors(mdp, D, document) -> set:
    """The (node, state) vectors a certificate carries that no regret-dual leaf below needs: with
    the H(s) in force at the node's parent, no leaf's rule w(x) >= t H(s) - D(x) fails at s.
    Recomputed from the certificate's own numbers; the checker shows the kept ones suffice."""
    states, actions = mdp.states, mdp.actions
    mu0 = dict(zip(states, mdp.initial))
    data = {(mdp.states[x // mdp.n_actions], mdp.actions[x % mdp.n_actions]): d for x, d in enumerate(D)}

    def lowered(horizon, table):
        horizon = dict(horizon)
        for state, row in table.items():
            horizon[state] = min(horizon[state], sum(mu0[other] * F(v) for other, v in row.items()))
        return horizon

    cap = 1 / (1 - mdp.gamma)
    root = lowered({s: cap for s in states}, document["evidence"].get("occupancy", {}))
    kept, needed = set(), set()

    def walk(node, family, inherited, carriers):
        # carriers: (node id, the H in force at its parent) for every node above with vectors
        if "occupancy" in node:
            kept.update((id(node), state) for state in node["occupancy"])
            carriers = carriers + ((id(node), inherited),)
            inherited = lowered(inherited, node["occupancy"])
        if "split" in node:
            for action, child in node["children"].items():
                walk(child, {**family, node["split"]: action}, inherited, carriers)
            return
        if "w" not in node:
            return
        t = F(node["t"])
        w = {(s, a): F(v) for s, row in node["w"].items() for a, v in row.items()}
        for s in states:
            taken = [a for a in actions if family.get(s, a) == a and mdp.is_enabled(mdp.pair(
                states.index(s), actions.index(a)))]
            slack = min(w.get((s, a), F(0)) + data[s, a] for a in taken)
            for carrier, above in carriers:
                if t * above[s] > slack:
                    needed.add((carrier, s))

    walk(document["evidence"]["tree"], {}, root, ())
    assert kept, "the shallow depths should put vectors on some nodes"
    return kept - needed


def test_every_node_vector_kept_is_one_some_leaf_below_needs(shallow):
    # Format §3.7a lets a node carry any subset of its vectors, and the engine keeps only those a
    # regret-dual leaf needs (greedily: one kept for a leaf may be covered by a deeper one kept
    # for another, which this does not test).
    lake, D, L, result = lake_certificate()
    document = threshold_certificate(lake, D, L, result)
    assert checker.check_document(document)[0] == "verified"
    assert not unneeded_node_vectors(lake, D, document)


def test_a_refined_stopped_search_keeps_no_vectors_of_the_families_it_split_again(shallow):
    # Regression (a differential campaign found it): the refinement of a stopped search marked the
    # vectors of an open family's regret-aware closure, and kept them after splitting that family.
    mdp = random_mdp(1003, 3, 4, gamma=F(3, 4))
    D = random_distribution(1003, mdp, 0.2)
    L = F(1, 2)
    star, _ = brute_force(mdp, D, L)
    result = critical_epsilon(mdp, D, L, max_nodes=8, refine=True, finish_seconds=1, polish_incumbents=False)
    document = threshold_certificate(mdp, D, L, result) if result.complete else \
        interval_certificate(mdp, D, L, result)
    assert checker.check_document(document)[0] == "verified"
    if result.complete:
        assert result.critical_epsilon == star
    else:
        assert result.lower_bound <= star <= result.upper_bound
    if nodes_with_occupancy(document["evidence"]["tree"]):
        assert not unneeded_node_vectors(mdp, D, document)


def test_the_checker_rejects_tampered_node_bounds(shallow):
    lake, D, L, result = lake_certificate()
    document = threshold_certificate(lake, D, L, result)
    found = nodes_with_occupancy(document["evidence"]["tree"])
    assert found
    node, path = found[0]
    target, vector = next(iter(node["occupancy"].items()))

    def tampered(change):
        mutant = copy.deepcopy(document)
        here = mutant["evidence"]["tree"]
        for state, action in path:
            here = here["children"][action]
        change(here, mutant)
        return checker.check_document(mutant)

    def lower_own_entry(here, _):
        here["occupancy"][target][target] = "0"        # U_s(s) >= 1 is needed at every node
    status, message, _ = tampered(lower_own_entry)
    assert status == "rejected" and "node-occupancy-bound" in message

    def unknown_state(here, _):
        here["occupancy"]["nowhere"] = {}
    assert "node-occupancy-states" in tampered(unknown_state)[1]

    def not_a_table(here, _):
        here["occupancy"] = [1, 2]
    assert "node-occupancy-states" in tampered(not_a_table)[1]

    def not_rational(here, _):
        here["occupancy"][target][target] = 0.5
    assert "node-occupancy-bound" in tampered(not_rational)[1]

    # The family's vectors do not hold for every policy: at the root they are rejected.
    def at_root(here, mutant):
        tree = mutant["evidence"]["tree"]
        for n, _ in nodes_with_occupancy(tree):
            tree.setdefault("occupancy", {}).update(n.pop("occupancy"))
    status, message, _ = tampered(at_root)
    assert status == "rejected", "moving every node's vectors to the root should fail some superharmonic row"
    assert "node-occupancy-bound" in message or "regret-dual" in message


def test_a_stopped_search_with_family_bounds_keeps_a_certified_interval(shallow):
    lake = frozen_lake(3, 0)
    D = uniform_distribution(lake)
    L = F(3, 4)
    star = critical_epsilon(lake, D, L, family_occupancy=False).critical_epsilon
    result = critical_epsilon(lake, D, L, max_nodes=300, polish_incumbents=False)
    assert not result.complete
    assert result.lower_bound <= star and (result.upper_bound is None or star <= result.upper_bound)
    assert checker.check_document(interval_certificate(lake, D, L, result))[0] == "verified"


def test_family_bounds_respect_duplicate_actions(shallow):
    # The lake's holes and goal have four identical actions; the tree keeps one (format §3.8), and
    # the checker checks the family's vectors on every enabled action of a free state.
    lake = frozen_lake(3, 0)
    D = uniform_distribution(lake)
    assert any(len(actions) < lake.n_actions for actions in duplicate_actions(lake, D).actions)
    result = critical_epsilon(lake, D, F(1, 4), polish_incumbents=False)
    document = threshold_certificate(lake, D, F(1, 4), result)
    assert "duplicates" in document["evidence"] and nodes_with_occupancy(document["evidence"]["tree"])
    assert checker.check_document(document)[0] == "verified"


def test_random_mutations_of_node_bounds_never_verify_a_false_claim(shallow):
    from tests.test_checker import claim_is_true, mutations
    for seed in range(40):
        mdp = random_mdp(900 + seed, 5, 3)
        D = random_distribution(seed, mdp, zeros=0)
        L = F(1, 4)
        result = critical_epsilon(mdp, D, L)
        if result.bounds.degenerate or result.critical_epsilon is None:
            continue
        document = threshold_certificate(mdp, D, L, result)
        found = nodes_with_occupancy(document["evidence"]["tree"])
        if found:
            break
    else:
        pytest.fail("no small instance used a family bound")
    node, path = found[0]
    muts = [m for m in mutations({"instance": document["instance"], "occupancy": node["occupancy"]})
            if m[0].startswith("['occupancy'")]
    rejected = 0
    for description, mutated in random.Random(1).sample(muts, min(40, len(muts))):
        replaced = copy.deepcopy(document)
        here = replaced["evidence"]["tree"]
        for _, action in path:
            here = here["children"][action]
        here["occupancy"] = mutated["occupancy"]
        status, message, facts = checker.check_document(replaced)
        assert facts.get("rule") != "internal-error", (description, message)
        if status == "verified":
            assert claim_is_true(replaced), description
        else:
            rejected += 1
    assert rejected > 0


def test_huge_denominators_take_the_python_integer_path():
    # G·2^24 far above int64 (a robustness run once overflowed here): the check must still run, on
    # Python integers, and agree with the bounds' definition.
    from rewardcert.symbolic.core.model import MDP
    p = F(1, 3 ** 40)
    mdp = MDP(states=("s0", "s1"), actions=("a0", "a1"), gamma=F(9, 10), initial=(F(1), F(0)),
              reward=(F(1), F(0), F(0), F(1)),
              transitions=(((0, 1 - p), (1, p)), ((1, F(1)),), ((0, F(1, 2)), (1, F(1, 2))), ((1, F(1)),)))
    enabled = [(0, 1), (0, 1)]
    family_occupancy = FamilyOccupancy(mdp, enabled)
    assert family_occupancy.common * family_occupancy.scale > 2 ** 63
    bounds = occupancy_bounds(mdp)
    horizon, vectors, _ = family_occupancy.refine([1, None], [1 / (1 - mdp.gamma)] * 2)
    for s in range(2):
        most = max(reference.occupancy(mdp, (1, a))[s * 2 + (1 if s == 0 else a)] for a in (0, 1))
        assert most <= horizon[s] <= bounds.horizon[s]
    assert vectors       # the family that leaves s0 at once visits s0 only at the start
