"""Numerical LP layer: PuLP models of the error LPs and the ε*(D) MILP, an exact cross-check of the
exact engine, and a fast path turning floating duals into exactly verified certificates.

Only ``lp/pulp_backend.py`` imports PuLP.  Nothing here produces a verdict from
floats: the cross-check compares against the exact engine, and the fast path
returns only answers it has verified exactly (or the exact engine's own).
"""

# The names below load their module on first use (PEP 562): importing one submodule, such as
# ``rewardcert.symbolic.guidance.redundancy`` for ``matrix``, no longer loads the cross-check, the fast path and PuLP's models.
_HOMES = {
    "crosscheck": ("TOLERANCE", "PolicyCrossCheck", "ThresholdCrossCheck", "cross_check", "cross_check_policy"),
    "fastpath": ("EXACT", "FAST", "ExactDual", "FastPolicyError", "FastThreshold", "certify_dual",
                 "certify_policy_error", "fast_critical_epsilon", "fast_family_dual", "fast_policy_error",
                 "rationalise", "repair_dual"),
    "models": ("FloatDual", "FloatPrimal", "MilpThreshold", "encode_dual", "encode_milp", "encode_primal",
               "solve_dual", "solve_milp", "solve_primal"),
    "pulp_backend": ("CBC", "HIGHS", "Model", "Solution", "Status", "available_solvers", "default_solver",
                     "load_pulp"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str):
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'lp' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_HOME))


__all__ = list(_HOME)
