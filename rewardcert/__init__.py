"""rewardcert: exact, certified checks of reward-learning safety on small MDPs.

The public API re-exports the objects a user needs; the layers behind it are
``symbolic`` (exact), ``smt`` (z3 search), ``lp`` (numerical cross-check) and
``proofs`` (certificates and their standalone checker).
"""

from symbolic.errors import BackendUnavailable, ModelError, ResourceLimit, RewardcertError
from symbolic.evaluation import (
    ReturnBounds, advantages, enumerate_policies, expected_return, occupancy, policy_distribution,
    regret, return_bounds, state_occupancy, state_values, support,
)
from symbolic.io import load_data, load_model, model_from_document, model_to_document
from symbolic.model import MDP, uniform_distribution, validate_distribution
from symbolic.numbers import format_rational, parse_rational

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable", "ModelError", "ResourceLimit", "RewardcertError",
    "ReturnBounds", "advantages", "enumerate_policies", "expected_return", "occupancy",
    "policy_distribution", "regret", "return_bounds", "state_occupancy", "state_values", "support",
    "load_data", "load_model", "model_from_document", "model_to_document",
    "MDP", "uniform_distribution", "validate_distribution", "format_rational", "parse_rational",
]
