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
