"""Size checks of `matrix` made before any long enumeration (issue 9)."""

from fractions import Fraction as F

import pytest

from benchmarks.common import random_mdp
from symbolic.errors import ResourceLimit


def test_matrix_refuses_too_many_bases_before_enumerating_policies(monkeypatch):
    # Issue 9: the bases count used to be checked only after listing every policy.
    from symbolic import matrix
    mdp = random_mdp(21, 12, 4)                  # C(48, 12) bases, 4^12 policies
    calls = []
    monkeypatch.setattr(matrix, "high_regret_policies", lambda *a, **k: calls.append(1) or ())
    with pytest.raises(ResourceLimit, match="bases"):
        matrix.safety_matrix(mdp, F(1, 2))
    assert calls == []


@pytest.mark.parametrize("seed,n,m", [(303, 3, 3), (204, 2, 4), (305, 3, 2), (125, 1, 5)])
def test_prefiltered_redundancy_marks_the_same_rows_as_one_lp_per_row(seed, n, m):
    from symbolic.matrix import mark_redundant_rows, safety_matrix, witnessed_irredundant
    M = safety_matrix(random_mdp(seed, n, m), F(1, 2), mark_redundant=False)
    fast = mark_redundant_rows(M.rows)
    slow = mark_redundant_rows(M.rows, prefilter=False)
    assert [r.redundant for r in fast] == [r.redundant for r in slow]
    if len(M.rows) > 2:
        assert witnessed_irredundant(M.rows)   # the prefilter did some of the work
