"""Per-state occupancy bounds H(s) (certificate format §3.7): sound, checked, and what they buy."""

import copy
from fractions import Fraction as F

from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.model import uniform_distribution
from rewardcert.symbolic.exact.evaluation import state_occupancy
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.occupancy import occupancy_bounds, trivial_bounds

from benchmarks.environments import frozen_lake
from rewardcert.certificates import interval_certificate, safety_certificate
from tests.strategies import mdps


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_every_policy_occupancy_is_below_the_bound_and_the_bound_is_nearly_attained(data):
    mdp = data.draw(mdps(min_states=1, max_states=4, max_actions=3))
    found = occupancy_bounds(mdp)
    cap = 1 / (1 - mdp.gamma)
    # Brute force over every deterministic policy, exactly (a stochastic policy's occupancy is a
    # mixture of these only at the level of the LP; the max of d^pi(s) is attained deterministically).
    best = [F(0)] * mdp.n_states
    for policy in mdp.deterministic_policies():
        d = state_occupancy(mdp, policy)
        for s in range(mdp.n_states):
            assert d[s] <= found.horizon[s] <= cap
            best[s] = max(best[s], d[s])
    for s in range(mdp.n_states):
        if s in found.vectors:
            # A certified vector: checked exactly here too, as the checker does.
            u = found.vectors[s]
            for x in mdp.enabled_pairs:
                here = x // mdp.n_actions
                assert u[here] >= (here == s) + sum(mdp.gamma * p * u[t] for t, p in mdp.successors(x))
            assert found.horizon[s] - best[s] < F(1, 10**5)      # the rounding costs almost nothing
        else:
            assert found.horizon[s] == cap


def lake_interval():
    lake = frozen_lake(4, 0)
    D = uniform_distribution(lake)
    # Only the global bounds of §3.7: a family's own (§3.7a) would lower the root's H here too.
    new = critical_epsilon(lake, D, F(1, 2), max_seconds=0, family_occupancy=False)
    old = critical_epsilon(lake, D, F(1, 2), max_seconds=0, occupancy=trivial_bounds(lake), family_occupancy=False)
    return lake, D, new, old


def test_the_per_state_bound_doubles_the_lake_lower_end_and_its_certificate_checks():
    lake, D, new, old = lake_interval()
    # An independent float HiGHS solve of the root's Lagrangian LP (t free as well) gave 0.000566
    # with H = 1/(1-gamma) and 0.00118 with the per-state H; the exact bounds use one t.
    assert 0 < old.lower_bound < new.lower_bound
    assert abs(float(old.lower_bound) - 0.000566) < 1e-5 and abs(float(new.lower_bound) - 0.00118) < 1e-5
    document = interval_certificate(lake, D, F(1, 2), new)
    assert "occupancy" in document["evidence"]
    status, message, _ = checker.check_document(document)
    assert status == "verified", message
    # Without the occupancy evidence the checker falls back to 1/(1-gamma), and the leaves fail.
    bare = copy.deepcopy(document)
    del bare["evidence"]["occupancy"]
    assert checker.check_document(bare)[2].get("rule") == "regret-dual-bounds"


def test_tampered_occupancy_evidence_is_rejected():
    lake, D, new, _ = lake_interval()
    document = interval_certificate(lake, D, F(1, 2), new)
    occupancy = document["evidence"]["occupancy"]
    state = next(iter(occupancy))
    lowered = copy.deepcopy(document)
    row = lowered["evidence"]["occupancy"][state]
    row[state] = str(F(row[state]) * F(99, 100))
    assert checker.check_document(lowered)[2].get("rule") == "occupancy-bound"
    unknown = copy.deepcopy(document)
    unknown["evidence"]["occupancy"]["nowhere"] = {}
    assert checker.check_document(unknown)[2].get("rule") == "occupancy-states"
    garbage = copy.deepcopy(document)
    garbage["evidence"]["occupancy"][state] = {state: "0.1.2"}
    assert checker.check_document(garbage)[2].get("rule") == "occupancy-bound"
    # Doubling a vector keeps it superharmonic but weakens its H(s); the root leaf relied on the
    # tighter one, so the checker (which uses the vectors it is given) rejects that leaf.
    raised = copy.deepcopy(document)
    raised["evidence"]["occupancy"][state] = {s: str(F(v) * 2) for s, v in occupancy[state].items()}
    assert checker.check_document(raised)[2].get("rule") == "regret-dual-bounds"


def test_the_per_state_bound_decides_an_epsilon_the_old_one_leaves_open():
    lake, D, new, old = lake_interval()
    epsilon = (old.lower_bound + new.lower_bound) / 2
    # With one node: the root's regret-aware bound decides "safe" only with the per-state H.
    decided = critical_epsilon(lake, D, F(1, 2), decide_epsilon=epsilon, max_nodes=1, family_occupancy=False)
    assert decided.verdict(epsilon).value == "safe"
    document = safety_certificate(lake, D, epsilon, F(1, 2), decided)
    assert checker.check_document(document)[0] == "verified"
    undecided = critical_epsilon(lake, D, F(1, 2), decide_epsilon=epsilon, max_nodes=1,
                                 occupancy=trivial_bounds(lake), family_occupancy=False)
    assert undecided.verdict(epsilon).value == "unknown"
