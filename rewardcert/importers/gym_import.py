"""Gymnasium toy-text environments as exact MDPs (docs/import.md).  The only module that imports gymnasium.

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


def parse_option(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` split, the value still text: ``typed_options`` reads it by the option's type."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ModelError(f"expected KEY=VALUE, got {text!r}", entry="--option")
    return key, raw


def _environment_class(env_id: str):
    """The environment's class, from its registration (None when Gymnasium cannot say)."""
    gym = load_gymnasium()
    try:
        spec = gym.spec(env_id)
    except Exception as exc:          # unknown, deprecated or malformed id: Gymnasium's message
        raise ModelError(f"gymnasium cannot make {env_id!r}: {exc}", entry="ENV_ID") from None
    entry = spec.entry_point
    if callable(entry):
        return entry
    try:
        from gymnasium.envs.registration import load_env_creator
        return load_env_creator(entry)
    except Exception:
        return None


_TRUE_FALSE = {"true": True, "false": False}


def _typed(key: str, raw: str, kind: str, default: Any) -> Any:
    """``raw`` read as the type ``kind`` (an annotation's text) or, without one, as ``default``'s."""
    text = raw.strip()
    kind = kind.replace(" ", "")
    optional = kind.endswith("|None") or kind.startswith("None|") or kind.startswith("Optional[")
    base = kind.replace("|None", "").replace("None|", "")
    if not base and default is not None:
        base = type(default).__name__
    if optional and text.lower() == "none":
        return None
    if base == "bool" or isinstance(default, bool) and not base:
        if text.lower() not in _TRUE_FALSE:
            raise ModelError(f"option {key} takes true or false, got {raw!r}", entry="--option")
        return _TRUE_FALSE[text.lower()]
    if base in ("int", "float"):
        from rewardcert.symbolic.core.numbers import parse_rational
        try:
            value = parse_rational(text, what=f"number for option {key}")
        except ModelError as exc:
            raise ModelError(exc.message, entry="--option") from None
        if base == "int":
            if value.denominator != 1:
                raise ModelError(f"option {key} takes an integer, got {raw!r}", entry="--option")
            return int(value)
        return float(value)
    if base.startswith(("list[", "tuple[", "Sequence[")):
        try:
            value = json.loads(text)
        except ValueError:
            value = [part.strip() for part in text.split(",")] if text else []
        if not isinstance(value, list):
            raise ModelError(f"option {key} takes a list (JSON, or comma-separated), got {raw!r}", entry="--option")
        inner = base[base.index("[") + 1:-1].split(",")[0]
        if inner == "int":
            try:
                value = [int(v) for v in value]
            except (TypeError, ValueError):
                raise ModelError(f"option {key} takes a list of integers, got {raw!r}", entry="--option") from None
        elif inner == "str" and not all(isinstance(v, str) for v in value):
            raise ModelError(f"option {key} takes a list of strings, got {raw!r}", entry="--option")
        return tuple(value) if base.startswith("tuple[") else value
    return raw


def typed_options(env_id: str, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The ``--option`` values, each read by the type the environment's constructor declares for it
    (booleans only ``true``/``false``, numbers exactly, lists as JSON or comma-separated); an option
    the constructor does not take is refused, naming those it does.  For a constructor Gymnasium
    cannot show, a value is read as JSON, else kept as text."""
    cls = _environment_class(env_id)
    parameters = {}
    if cls is not None:
        import inspect
        try:
            signature = inspect.signature(cls.__init__ if isinstance(cls, type) else cls)
            parameters = {name: p for name, p in signature.parameters.items()
                          if name not in ("self", "render_mode") and p.kind is not p.VAR_KEYWORD}
            open_ended = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        except (TypeError, ValueError):
            cls = None
    if cls is None:
        open_ended = True
    options = {}
    for key, raw in pairs:
        if key in options:
            raise ModelError(f"option {key} is given twice", entry="--option")
        if cls is None or (key not in parameters and open_ended):
            try:
                options[key] = json.loads(raw)
            except ValueError:
                options[key] = raw
            continue
        if key not in parameters:
            known = ", ".join(sorted(parameters)) or "none"
            raise ModelError(f"{env_id} takes no option {key!r} (it takes: {known})", entry="--option")
        parameter = parameters[key]
        annotation = parameter.annotation
        kind = annotation if isinstance(annotation, str) else "" if annotation is parameter.empty else \
            getattr(annotation, "__name__", str(annotation))
        default = None if parameter.default is parameter.empty else parameter.default
        options[key] = _typed(key, raw, kind, default)
    return options


def make_environment(env_id: str, options: dict[str, Any]):
    gym = load_gymnasium()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # deprecation chatter is not the user's problem here
        try:
            return gym.make(env_id, **options)
        except gym.error.Error as exc:
            raise ModelError(f"gymnasium cannot make {env_id!r}: {exc}", entry="ENV_ID") from None
        except Exception as exc:         # the environment's own check of an option (a KeyError for an
            # unknown map name, a ValueError for a malformed map, ...): the user's input, not a bug
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise ModelError(f"gymnasium cannot make {env_id!r} with these options ({detail})",
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
                   + " by `rewardcert import gymnasium` (docs/import.md).")
    return mdp, report, description
