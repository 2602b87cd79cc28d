"""Numerical LP layer: PuLP models of the error LPs and the ε*(D) MILP, an exact cross-check of the
exact engine, and a fast path turning floating duals into exactly verified certificates.

Only ``lp/pulp_backend.py`` imports PuLP.  Nothing here produces a verdict from
floats: the cross-check compares against the exact engine, and the fast path
returns only answers it has verified exactly (or the exact engine's own).
"""

from .crosscheck import TOLERANCE, PolicyCrossCheck, ThresholdCrossCheck, cross_check, cross_check_policy
from .fastpath import (EXACT, FAST, ExactDual, FastPolicyError, FastThreshold, certify_dual,
                       certify_policy_error, fast_critical_epsilon, fast_family_dual, fast_policy_error,
                       rationalise, repair_dual)
from .models import (FloatDual, FloatPrimal, MilpThreshold, encode_dual, encode_milp, encode_primal,
                     solve_dual, solve_milp, solve_primal)
from .pulp_backend import (CBC, HIGHS, Model, Solution, Status, available_solvers, default_solver,
                           load_pulp)

__all__ = [
    "TOLERANCE", "PolicyCrossCheck", "ThresholdCrossCheck", "cross_check", "cross_check_policy",
    "EXACT", "FAST", "ExactDual", "FastPolicyError", "FastThreshold", "certify_dual", "certify_policy_error",
    "fast_critical_epsilon", "fast_family_dual", "fast_policy_error", "rationalise", "repair_dual",
    "FloatDual", "FloatPrimal", "MilpThreshold", "encode_dual", "encode_milp", "encode_primal",
    "solve_dual", "solve_milp", "solve_primal",
    "CBC", "HIGHS", "Model", "Solution", "Status", "available_solvers", "default_solver", "load_pulp",
]
