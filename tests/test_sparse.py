"""Sparse exact solves of (I − γP_π) systems against independent dense computations."""

from fractions import Fraction as F

import pytest
from flint import fmpq, fmpq_mat
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.symbolic.core.errors import ResourceLimit
from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.exact import sparse
from rewardcert.symbolic.exact.evaluation import state_occupancy, state_values
from rewardcert.symbolic.exact.linalg import (
    DENSE_UP_TO,
    dynamics,
    fraction_solve,
    to_fmpq,
    to_fraction,
)
from rewardcert.symbolic.exact.sparse import (
    sparse_solve,
    strongly_connected_blocks,
    transpose,
)

from benchmarks.common import random_mdp, random_policy
from rewardcert.cli import main
from tests.strategies import deterministic_policies, mdps


def dense_fraction(mdp, policy):
    """``I − γP_π`` and ``R_π`` as Fraction lists, straight from the model."""
    n, m = mdp.n_states, mdp.n_actions
    matrix = [[F(int(i == j)) for j in range(n)] for i in range(n)]
    for s, a in enumerate(policy):
        for t, p in (mdp.transitions[s * m + a] if mdp.transitions else ()):
            matrix[s][t] -= mdp.gamma * p
    return matrix, [mdp.reward[s * m + a] for s, a in enumerate(policy)]


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sampled_from([0, 1, 2, 64]))
def test_sparse_solve_matches_fraction_elimination(data, dense_block):
    mdp = data.draw(mdps(max_states=7, max_actions=3, bandit=False))
    policy = data.draw(deterministic_policies(mdp))
    matrix, rhs = dense_fraction(mdp, policy)
    rows = dynamics(mdp).policy_rows(policy)
    got = sparse_solve(rows, [to_fmpq(r) for r in rhs], dense_block=dense_block)
    assert [to_fraction(v) for v in got] == fraction_solve(matrix, rhs)
    # the transposed system (occupancies)
    mu0 = list(mdp.initial)
    got_t = sparse_solve(transpose(rows, mdp.n_states), [to_fmpq(p) for p in mu0], dense_block=dense_block)
    assert [to_fraction(v) for v in got_t] == fraction_solve([list(col) for col in zip(*matrix)], mu0)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_p_adic_path_matches_fraction_elimination(data):
    # Every block of two or more states through the sparse LU mod p, lifting and exact verification.
    mdp = data.draw(mdps(min_states=2, max_states=7, max_actions=3, bandit=False))
    policy = data.draw(deterministic_policies(mdp))
    matrix, rhs = dense_fraction(mdp, policy)
    rows = dynamics(mdp).policy_rows(policy)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sparse, "DENSE_MAX", 0)
        got = sparse_solve(rows, [to_fmpq(r) for r in rhs], dense_block=0)
        got_t = sparse_solve(transpose(rows, mdp.n_states), [to_fmpq(p) for p in mdp.initial], dense_block=0)
    assert [to_fraction(v) for v in got] == fraction_solve(matrix, rhs)
    assert [to_fraction(v) for v in got_t] == fraction_solve([list(c) for c in zip(*matrix)], list(mdp.initial))


def test_frozen_lake_sparse_block_matches_flint_dense():
    from benchmarks.environments import frozen_lake
    mdp = frozen_lake(20, 3)
    policy = random_policy(4, mdp)
    dyn = dynamics(mdp)
    assert max(map(len, strongly_connected_blocks(dyn.policy_rows(policy)))) > sparse.DENSE_BLOCK
    n = mdp.n_states
    rhs = [to_fmpq(mdp.reward[s * 4 + a]) for s, a in enumerate(policy)]
    dense = dyn.bellman_matrix(policy).solve(fmpq_mat(n, 1, rhs))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sparse, "DENSE_MAX", 0)   # force the p-adic path even if the fill were dense
        assert state_values(mdp, policy) == tuple(to_fraction(dense[i, 0]) for i in range(n))


def test_primes_are_prime():
    # Miller–Rabin with the first 12 prime bases is deterministic below 3.3·10^24.
    def is_prime(n):
        d, r = n - 1, 0
        while d % 2 == 0:
            d, r = d // 2, r + 1
        for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
            x = pow(a, d, n)
            if x in (1, n - 1):
                continue
            for _ in range(r - 1):
                x = x * x % n
                if x == n - 1:
                    break
            else:
                return False
        return True
    assert all(is_prime(p) and p < 2 ** 62 for p in sparse.PRIMES)
    assert not is_prime(sparse.PRIMES[0] + 2)


def test_blocks_come_after_the_blocks_they_reach():
    # 0 → 1 ⇄ 2 → 3 (self-loop), 4 isolated
    one = fmpq(1)
    rows = [[(0, one), (1, -one / 2)], [(1, one), (2, -one / 3)], [(1, -one / 3), (2, one), (3, -one / 3)],
            [(3, one / 2)], [(4, one)]]
    blocks = strongly_connected_blocks(rows)
    assert sorted(map(sorted, blocks)) == [[0], [1, 2], [3], [4]]
    position = {s: k for k, block in enumerate(blocks) for s in block}
    for s, row in enumerate(rows):
        for t, _ in row:
            assert position[t] <= position[s]


@pytest.mark.parametrize("n", [DENSE_UP_TO + 1, 150])
def test_large_random_mdp_matches_flint_dense(n):
    mdp = random_mdp(7 * n, n, 3)
    policy = random_policy(n, mdp)
    dyn = dynamics(mdp)
    dense_v = dyn.bellman_matrix(policy).solve(fmpq_mat(n, 1, [to_fmpq(mdp.reward[s * 3 + a])
                                                               for s, a in enumerate(policy)]))
    assert state_values(mdp, policy) == tuple(to_fraction(dense_v[i, 0]) for i in range(n))
    dense_d = dyn.bellman_matrix(policy).transpose().solve(fmpq_mat(n, 1, list(dyn.mu0)))
    occ = state_occupancy(mdp, policy)
    assert occ == tuple(to_fraction(dense_d[i, 0]) for i in range(n))
    assert sum(occ) == 1 / (1 - mdp.gamma)


def chain(n: int) -> MDP:
    """s_i → s_{i+1} (the last one stays), reward 1 at the end: V(s_i) = γ^(n-1-i) / (1 − γ)."""
    gamma = F(9, 10)
    transitions = tuple(((min(i + 1, n - 1), F(1)),) for i in range(n))
    reward = tuple(F(int(i == n - 1)) for i in range(n))
    return MDP(tuple(f"s{i}" for i in range(n)), ("go",), gamma, (F(1),) + (F(0),) * (n - 1), reward, transitions)


def test_long_chain_by_hand():
    n = 5000   # far beyond any dense solve's comfort, and deep enough to break a recursive Tarjan
    values = state_values(chain(n), (0,) * n)
    gamma = F(9, 10)
    for i in (0, 1, n // 2, n - 2, n - 1):
        assert values[i] == gamma ** (n - 1 - i) / (1 - gamma)


def test_fill_limit_refuses_before_arithmetic(monkeypatch):
    mdp = random_mdp(3, 120, 2)
    policy = random_policy(3, mdp)
    monkeypatch.setattr(sparse, "MAX_FILL", 500)
    monkeypatch.setattr(sparse, "DENSE_MAX", 10)
    with pytest.raises(ResourceLimit, match="non-zeros"):
        state_values(mdp, policy)


def test_cli_refuses_a_too_large_elimination_with_exit_2(monkeypatch, tmp_path, capsys):
    import json

    from rewardcert.symbolic.core.io import model_to_document
    path = tmp_path / "big.json"
    path.write_text(json.dumps(model_to_document(random_mdp(5, 120, 2))))
    monkeypatch.setattr(sparse, "MAX_FILL", 500)
    monkeypatch.setattr(sparse, "DENSE_MAX", 10)
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "non-zeros" in err and "Traceback" not in err

