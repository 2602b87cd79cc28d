"""Exact symbolic layer: the MDP model, exact evaluation, closed-form bounds and the matrix M."""

from .core.errors import BackendUnavailable, ModelError, ResourceLimit, RewardcertError
from .core.model import (
    MDP,
    DeterministicPolicy,
    Vector,
    uniform_distribution,
    validate_distribution,
)
from .core.numbers import format_rational, parse_rational

__all__ = [
    "BackendUnavailable", "ModelError", "ResourceLimit", "RewardcertError",
    "MDP", "DeterministicPolicy", "Vector", "uniform_distribution", "validate_distribution",
    "format_rational", "parse_rational",
]
