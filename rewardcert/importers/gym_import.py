"""Gymnasium toy-text environments as exact MDPs (SPEC §11).  The only module that imports gymnasium.

Gymnasium is an optional extra (``pip install 'rewardcert[gymnasium]'``); without
it every entry point raises ``BackendUnavailable`` with that hint.  The rules
themselves live in ``rewardcert.importers.tabular`` and do not need gymnasium.
"""

from __future__ import annotations

import json
import warnings
from fractions import Fraction
from typing import Any, Sequence

from rewardcert.symbolic.core.errors import BackendUnavailable, ModelError
from rewardcert.symbolic.core.model import MDP

from .tabular import Report, from_transition_table

INSTALL_HINT = "pip install 'rewardcert[gymnasium]'"

# Action names of the toy-text environments, in their documented order.
ACTION_NAMES = {
    "FrozenLakeEnv": ("left", "down", "right", "up"),
    "CliffWalkingEnv": ("up", "right", "down", "left"),
    "TaxiEnv": ("south", "north", "east", "west", "pickup", "dropoff"),
}


def load_gymnasium():
    try:
        import gymnasium
    except ImportError as exc:
        raise BackendUnavailable(f"gymnasium is not installed ({exc.msg}); {INSTALL_HINT}") from None
    return gymnasium


def parse_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE``: VALUE as JSON when it parses (``false``, ``8``, ``["SFFF", ...]``),
    ``true``/``false`` in any case, a comma-separated list of strings, else the string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ModelError(f"expected KEY=VALUE, got {text!r}", entry="--option")
    try:
        return key, json.loads(raw)
    except ValueError:
        pass
    if raw.strip().lower() in ("true", "false"):
        return key, raw.strip().lower() == "true"
    if "," in raw:
        return key, [part.strip() for part in raw.split(",")]
    return key, raw


def make_environment(env_id: str, options: dict[str, Any]):
    gym = load_gymnasium()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # deprecation chatter is not the user's problem here
        try:
            return gym.make(env_id, **options)
        except gym.error.Error as exc:
            raise ModelError(f"gymnasium cannot make {env_id!r}: {exc}", entry="ENV_ID") from None
        except TypeError as exc:
            raise ModelError(f"gymnasium cannot make {env_id!r} with these options: {exc}",
                             entry="--option") from None


def _state_names(env, n: int) -> list[str]:
    """``r2c3`` for grid cells; Taxi's decoded (taxi row, column, passenger, destination)."""
    kind = type(env).__name__
    if kind == "TaxiEnv" and hasattr(env, "decode"):
        names = []
        for s in range(n):
            row, col, passenger, destination = (int(v) for v in env.decode(s))
            names.append(f"r{row}c{col}p{passenger}d{destination}")
        return names
    ncol = getattr(env, "ncol", None)
    if ncol is None and getattr(env, "shape", None) is not None and len(env.shape) == 2:
        ncol = int(env.shape[1])
    if ncol:
        return [f"r{s // ncol}c{s % ncol}" for s in range(n)]
    return [f"s{s}" for s in range(n)]


def import_gymnasium(env_id: str, gamma: Fraction, *, options: dict[str, Any] | None = None,
                     initial_state: str | None = None, name: str | None = None) -> tuple[MDP, Report, str]:
    """The exact MDP of ``env_id`` (``env.unwrapped.P``), its report, and a description."""
    options = dict(options or {})
    env = make_environment(env_id, options).unwrapped
    P = getattr(env, "P", None)
    if not isinstance(P, dict) or not all(isinstance(row, dict) for row in P.values()):
        raise ModelError(f"{env_id} has no tabular transition table env.unwrapped.P "
                         "(only tabular environments such as FrozenLake, CliffWalking and Taxi can be imported)",
                         entry="ENV_ID")
    n = len(P)
    m = len({a for row in P.values() for a in row})
    names = ACTION_NAMES.get(type(env).__name__)
    actions = list(names) if names is not None and len(names) == m else [f"a{j}" for j in range(m)]
    states = _state_names(env, n)
    if initial_state is not None:
        if initial_state not in states:
            raise ModelError(f"unknown state {initial_state!r} (states are named like {states[0]!r})",
                             entry="--initial")
        initial: Sequence = [1 if s == initial_state else 0 for s in states]
    else:
        distribution = getattr(env, "initial_state_distrib", None)
        if distribution is None:
            raise ModelError(f"{env_id} has no initial_state_distrib; pass --initial STATE", entry="--initial")
        initial = [float(p) for p in distribution]
    settings = ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(options.items()))
    label = name or (env_id + (f" ({settings})" if settings else ""))
    mdp, report = from_transition_table(P, initial, gamma, state_names=states, action_names=actions,
                                        name=label, source="P")
    description = (f"Imported from Gymnasium {env_id}" + (f" with {settings}" if settings else "")
                   + " by `rewardcert import gymnasium` (SPEC §11 rules; docs/import.md).")
    return mdp, report, description
