"""rewardcert: exact, certified checks of reward-learning safety on small MDPs.

The public API re-exports what a user needs. The layers behind it are
``symbolic`` (exact, the source of every verdict), ``smt`` (z3 search),
``lp`` (numerical cross-check) and ``proofs`` (the standalone certificate
checker).

>>> from fractions import Fraction
>>> import rewardcert
>>> loaded = rewardcert.load_model("examples/figure4.toml")
>>> result = rewardcert.critical_epsilon(loaded.mdp, rewardcert.uniform_distribution(loaded.mdp), Fraction(4, 5))
>>> result.critical_epsilon, result.verdict(Fraction(1, 5))
(Fraction(1, 3), <Verdict.SAFE: 'safe'>)
"""

from symbolic.bounds import Proposition32, proposition_3_2
from symbolic.errors import BackendUnavailable, ModelError, ResourceLimit, RewardcertError
from symbolic.evaluation import (
    ReturnBounds, advantages, enumerate_policies, expected_return, occupancy, policy_distribution,
    regret, return_bounds, state_occupancy, state_values, support,
)
from symbolic.io import load_data, load_model, model_from_document, model_to_document, resolve_data
from symbolic.matrix import SafetyMatrix, paper_algorithm_rows, safety_matrix
from symbolic.model import MDP, uniform_distribution, validate_distribution
from symbolic.numbers import format_rational, parse_rational
from symbolic.paper import corollary_3_4, proposition_3_3, safest_distribution
from symbolic.results import CheckResult, Verdict, Witness
from symbolic.safety import PolicyError, ThresholdResult, critical_epsilon, policy_error

from .certificates import (safest_certificate, safety_certificate, threshold_certificate,
                           unsafe_certificate, write_certificate)
from .theorems import TheoremReport, theorem_instances

__version__ = "0.1.0"

# Numbers given to these are read like the CLI reads them ("4/5", 0.8 refused): rewardcert/api.py.
_EXACT_API = (
    "proposition_3_2", "advantages", "expected_return", "state_values", "return_bounds",
    "validate_distribution", "safety_matrix", "paper_algorithm_rows", "corollary_3_4", "proposition_3_3",
    "safest_distribution", "critical_epsilon", "policy_error", "theorem_instances",
    "threshold_certificate", "safety_certificate", "unsafe_certificate", "safest_certificate",
)


def _wrap_exact_api() -> None:
    from .api import exact_api
    for name in _EXACT_API:
        globals()[name] = exact_api(globals()[name])


_wrap_exact_api()


def check_certificate(path) -> CheckResult:
    """Check a certificate file with the standalone checker (``proofs/checker.py``)."""
    import os
    from proofs import checker
    status, _, _ = checker.check_file(os.fspath(path))
    return CheckResult.VERIFIED if status == "verified" else CheckResult.REJECTED


__all__ = [
    "BackendUnavailable", "ModelError", "ResourceLimit", "RewardcertError",
    "MDP", "uniform_distribution", "validate_distribution", "format_rational", "parse_rational",
    "load_model", "load_data", "resolve_data", "model_from_document", "model_to_document",
    "ReturnBounds", "advantages", "enumerate_policies", "expected_return", "occupancy",
    "policy_distribution", "regret", "return_bounds", "state_occupancy", "state_values", "support",
    "Verdict", "CheckResult", "Witness", "PolicyError", "ThresholdResult", "critical_epsilon", "policy_error",
    "SafetyMatrix", "safety_matrix", "paper_algorithm_rows",
    "Proposition32", "proposition_3_2", "proposition_3_3", "corollary_3_4", "safest_distribution",
    "TheoremReport", "theorem_instances",
    "threshold_certificate", "safety_certificate", "unsafe_certificate", "safest_certificate",
    "write_certificate", "check_certificate",
]
