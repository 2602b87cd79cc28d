"""rewardcert: exact, certified checks of reward-learning safety on small MDPs.

The public API re-exports what a user needs, loaded on first use. The layers
behind it are ``rewardcert.symbolic`` (exact and rigorous mathematics, the
source of every verdict), ``rewardcert.smt`` (z3 search), ``rewardcert.lp``
(numerical cross-checks) and ``rewardcert.proofs`` (the standalone certificate
checker); ``docs/design.md`` maps them.

>>> from fractions import Fraction
>>> import rewardcert
>>> loaded = rewardcert.load_model("examples/figure4.toml")
>>> result = rewardcert.critical_epsilon(loaded.mdp, rewardcert.uniform_distribution(loaded.mdp), Fraction(4, 5))
>>> result.critical_epsilon, result.verdict(Fraction(1, 5))
(Fraction(1, 3), <Verdict.SAFE: 'safe'>)
"""

import os as _os

# The layers live in the checkout's top-level folders symbolic/, smt/, lp/ and proofs/.  Installed,
# pyproject's package-dir puts them inside this package (rewardcert.symbolic, ...); in a source
# checkout they sit beside it, so the checkout's root joins this package's search path.  Nothing is
# installed under a generic top-level name either way.
_ROOT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(__path__[0], "symbolic")) and \
        _os.path.isfile(_os.path.join(_ROOT, "symbolic", "__init__.py")):
    __path__.append(_ROOT)

__version__ = "0.1.0"

_PUBLIC = {
    "rewardcert.symbolic.core.errors": ("BackendUnavailable", "ModelError", "ResourceLimit", "RewardcertError"),
    "rewardcert.symbolic.core.io": ("load_data", "load_model", "model_from_document", "model_to_document",
                                    "resolve_data"),
    "rewardcert.symbolic.core.model": ("MDP", "uniform_distribution", "validate_distribution"),
    "rewardcert.symbolic.core.numbers": ("format_rational", "parse_rational"),
    "rewardcert.symbolic.core.results": ("CheckResult", "Verdict", "Witness"),
    "rewardcert.symbolic.exact.evaluation": ("ReturnBounds", "advantages", "enumerate_policies", "expected_return",
                                             "occupancy", "policy_distribution", "regret", "state_occupancy",
                                             "state_values", "support"),
    "rewardcert.symbolic.guidance.floatvi": ("return_bounds",),
    "rewardcert.symbolic.optimisers.goodhart": ("FamilyReport", "GoodhartReport", "goodhart_family",
                                                "goodhart_instance"),
    "rewardcert.symbolic.paper.closed_form": ("Proposition32", "proposition_3_2"),
    "rewardcert.symbolic.paper.matrix": ("SafetyMatrix", "paper_algorithm_rows", "safety_matrix"),
    "rewardcert.symbolic.paper.safest": ("safest_distribution",),
    "rewardcert.symbolic.paper.section3": ("corollary_3_4", "proposition_3_3"),
    "rewardcert.symbolic.search.engine": ("critical_epsilon",),
    "rewardcert.symbolic.search.squared": ("SquaredResult", "squared_threshold"),
    "rewardcert.symbolic.paper.index": ("paper_results",),
    "rewardcert.symbolic.search.policy_error": ("PolicyError", "policy_error"),
    "rewardcert.symbolic.search.results": ("ThresholdResult",),
    "rewardcert.certificates": ("safest_certificate", "safety_certificate", "squared_certificate",
                                "threshold_certificate", "unsafe_certificate", "write_certificate"),
    "rewardcert.theorem_checks": ("TheoremReport", "theorem_instances"),
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}

# Numbers given to these are read like the CLI reads them ("4/5", 0.8 refused): rewardcert/api.py.
_EXACT_API = (
    "proposition_3_2", "advantages", "expected_return", "state_values", "return_bounds",
    "validate_distribution", "safety_matrix", "paper_algorithm_rows", "corollary_3_4", "proposition_3_3",
    "safest_distribution", "critical_epsilon", "policy_error", "theorem_instances", "squared_threshold",
    "threshold_certificate", "safety_certificate", "unsafe_certificate", "safest_certificate",
)


def __getattr__(name: str):
    """The public names, imported on first use (``import rewardcert.symbolic...`` stays light)."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'rewardcert' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(module), name)
    if name in _EXACT_API:
        from .api import exact_api
        value = exact_api(value)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_HOME))


def check_certificate(certificate):
    """Check a certificate with the standalone checker (``proofs/checker.py``): a path, the JSON text,
    or the parsed document (a ``dict``).  Returns a frozen ``CertificateCheck``: ``status``
    (``CheckResult``), the failed ``rule`` (None unless rejected), the checker's ``message`` and its
    ``facts``; ``bool(check)`` is True when verified."""
    from .api import check_certificate as check
    return check(certificate)


__all__ = sorted(set(_HOME) | {"check_certificate"})
