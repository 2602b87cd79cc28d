"""Frozen result objects shared by every layer: verdicts, witnesses, policy families."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction

from .model import DeterministicPolicy, Vector


class Verdict(enum.Enum):
    """Three-valued: a budget running out or a solver's "unknown" is never "safe"."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    UNKNOWN = "unknown"


class CheckResult(enum.Enum):
    VERIFIED = "verified"
    REJECTED = "rejected"
    UNREADABLE = "unreadable"


Family = tuple[int | None, ...]
"""A product family of deterministic policies: per state, the forced action
index, or ``None`` when every action is allowed.  ``(None,) * n`` is the set of
all deterministic policies; a tuple of ints is a single policy."""


def family_size(family: Family, n_actions: int) -> int:
    return n_actions ** sum(a is None for a in family)


def family_contains(family: Family, policy: DeterministicPolicy) -> bool:
    return all(f is None or f == a for f, a in zip(family, policy))


@dataclass(frozen=True)
class Witness:
    """An unsafety witness: a reward model ``R̂`` accurate on the data (P1), a
    deterministic policy optimal for it (P2) whose regret under ``R`` is at
    least ``L`` (not P3).  ``error`` is ``E_D|R̂ − R| / range R``."""

    reward: Vector
    policy: DeterministicPolicy
    error: Fraction
