"""The exact MDP ⟨S, A, τ, μ0, R, γ⟩ of the paper (§2), immutable and validated.

State-action pairs are indexed flat, ``x = s * |A| + a``, everywhere in the
toolkit; reward models, data distributions and dual vectors are tuples of
``Fraction`` in that order.  A deterministic policy is a tuple of action
indices, one per state.

**Per-state action sets.**  ``enabled[s]`` (optional) lists the action
indices available in state ``s``; ``None`` means every action everywhere.
Disabled pairs keep their place in the flat order as *inert columns*: reward
0, a self-loop transition, never chosen by any policy or family, never
counted in ``range R``, and every data distribution is 0 on them.  Why that
is sound for every layer (and why padding with a selectable copy of an
enabled action is not) is argued in ``docs/engine.md``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Iterator, Mapping, Sequence

from .errors import ModelError, ResourceLimit
from .numbers import format_rational, parse_rational

Vector = tuple[Fraction, ...]
"""A rational vector over states or over state-action pairs (flat order)."""

DeterministicPolicy = tuple[int, ...]
"""Action index per state."""

# What the toolkit is willing to hold in memory; beyond it inputs are refused.
MAX_STATES = 100_000
MAX_ACTIONS = 10_000
MAX_PAIRS = 1_000_000
MAX_TRANSITION_ENTRIES = 10_000_000


@dataclass(frozen=True)
class MDP:
    """A finite MDP with exact rational data; ``gamma == 0`` is a contextual bandit.

    ``transitions[x]`` is the sparse next-state distribution of pair ``x`` as
    ``((s', p), ...)`` with ``p > 0``; it is ``None`` for a bandit given
    without transitions (they never matter when ``gamma == 0``).
    """

    states: tuple[str, ...]
    actions: tuple[str, ...]
    gamma: Fraction
    initial: Vector
    reward: Vector
    transitions: tuple[tuple[tuple[int, Fraction], ...], ...] | None
    name: str = ""
    enabled: tuple[tuple[int, ...], ...] | None = None
    _state_index: dict = field(init=False, repr=False, compare=False, hash=False)
    _action_index: dict = field(init=False, repr=False, compare=False, hash=False)
    _mask: tuple | None = field(init=False, repr=False, compare=False, hash=False, default=None)

    def __post_init__(self) -> None:
        _check_names(self.states, "states")
        _check_names(self.actions, "actions")
        n, m = len(self.states), len(self.actions)
        if n * m > MAX_PAIRS:
            raise ResourceLimit(f"{n} states x {m} actions = {n * m} pairs; at most {MAX_PAIRS} are supported")
        if not isinstance(self.gamma, Fraction) or not (0 <= self.gamma < 1):
            raise ModelError(f"gamma must be an exact rational with 0 <= gamma < 1, got {self.gamma}",
                             entry="gamma")
        _check_distribution(self.initial, n, "initial", lambda i: self.states[i])
        if len(self.reward) != n * m or not all(isinstance(r, Fraction) for r in self.reward):
            raise ModelError(f"reward must hold {n * m} exact rationals, one per state-action pair",
                             table="reward")
        if self.transitions is None:
            if self.gamma != 0:
                raise ModelError("transitions may be omitted only when gamma = 0", table="transitions")
        else:
            if len(self.transitions) != n * m:
                raise ModelError(f"transitions must give a distribution for each of the {n * m} pairs",
                                 table="transitions")
            for x, row in enumerate(self.transitions):
                s, a = divmod(x, m)
                where = f"transitions.{self.states[s]}"
                seen = set()
                total = Fraction(0)
                for s_next, p in row:
                    if not (isinstance(s_next, int) and 0 <= s_next < n) or s_next in seen:
                        raise ModelError(f"bad or repeated next state index {s_next!r}",
                                         table=where, entry=self.actions[a])
                    if not isinstance(p, Fraction) or p <= 0:
                        raise ModelError(f"stored probabilities must be positive rationals, got {p}",
                                         table=where, entry=self.actions[a])
                    seen.add(s_next)
                    total += p
                if total != 1:
                    raise ModelError(f"next-state probabilities sum to {format_rational(total)}, not 1",
                                     table=where, entry=self.actions[a])
        object.__setattr__(self, "_state_index", {s: i for i, s in enumerate(self.states)})
        object.__setattr__(self, "_action_index", {a: i for i, a in enumerate(self.actions)})
        self._normalise_enabled()

    def _normalise_enabled(self) -> None:
        """Check ``enabled``; make disabled pairs inert (reward 0, self-loop); ``None`` if all enabled."""
        n, m = len(self.states), len(self.actions)
        if self.enabled is None:
            object.__setattr__(self, "_mask", None)
            return
        if len(self.enabled) != n:
            raise ModelError(f"enabled must list the actions of each of the {n} states", table="enabled")
        sets = []
        for s, actions in enumerate(self.enabled):
            actions = tuple(actions)
            if not actions:
                raise ModelError("a state needs at least one enabled action", table="enabled",
                                 entry=self.states[s])
            if not all(isinstance(a, int) and 0 <= a < m for a in actions) or len(set(actions)) != len(actions):
                raise ModelError(f"enabled actions must be distinct indices in [0, {m})", table="enabled",
                                 entry=self.states[s])
            sets.append(tuple(sorted(actions)))
        if all(len(a) == m for a in sets):
            object.__setattr__(self, "enabled", None)
            object.__setattr__(self, "_mask", None)
            return
        mask = tuple(a in set(acts) for acts in sets for a in range(m))
        object.__setattr__(self, "enabled", tuple(sets))
        object.__setattr__(self, "_mask", mask)
        object.__setattr__(self, "reward", tuple(r if on else Fraction(0) for r, on in zip(self.reward, mask)))
        if self.transitions is not None:
            object.__setattr__(self, "transitions", tuple(
                row if on else ((x // m, Fraction(1)),) for x, (row, on) in enumerate(zip(self.transitions, mask))))

    # -- action sets -------------------------------------------------------------
    @property
    def has_disabled(self) -> bool:
        """Some state does not enable every action."""
        return self.enabled is not None

    def enabled_actions(self, s: int) -> tuple[int, ...]:
        """The action indices available in state ``s`` (sorted)."""
        if self.enabled is None:
            return tuple(range(len(self.actions)))
        return self.enabled[s]

    def allowed_actions(self) -> list[tuple[int, ...]]:
        """``enabled_actions(s)`` for every state (the root family's action sets)."""
        return [self.enabled_actions(s) for s in range(len(self.states))]

    def is_enabled(self, x: int) -> bool:
        """Is the flat pair ``x`` available (always true without an ``enabled`` table)?"""
        return self._mask is None or self._mask[x]

    @property
    def enabled_pairs(self) -> tuple[int, ...]:
        """The flat indices of the available pairs, in order."""
        if self._mask is None:
            return tuple(range(self.n_pairs))
        return tuple(x for x, on in enumerate(self._mask) if on)

    @property
    def n_enabled_pairs(self) -> int:
        return self.n_pairs if self._mask is None else sum(self._mask)

    # -- shape -----------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_actions(self) -> int:
        return len(self.actions)

    @property
    def n_pairs(self) -> int:
        return len(self.states) * len(self.actions)

    @property
    def is_bandit(self) -> bool:
        return self.gamma == 0

    def pair(self, s: int, a: int) -> int:
        return s * len(self.actions) + a

    def pair_name(self, x: int) -> tuple[str, str]:
        s, a = divmod(x, len(self.actions))
        return self.states[s], self.actions[a]

    def state_index(self, name: str, *, table: str | None = None) -> int:
        try:
            return self._state_index[name]
        except (KeyError, TypeError):
            raise ModelError(f"unknown state {name!r} (states are {_listing(self.states)})",
                             table=table, entry=str(name)) from None

    def action_index(self, name: str, *, table: str | None = None) -> int:
        try:
            return self._action_index[name]
        except (KeyError, TypeError):
            raise ModelError(f"unknown action {name!r} (actions are {_listing(self.actions)})",
                             table=table, entry=str(name)) from None

    def successors(self, x: int) -> tuple[tuple[int, Fraction], ...]:
        """Sparse τ(·|x); a bandit without transitions stays put (irrelevant at γ = 0)."""
        if self.transitions is None:
            return ((x // len(self.actions), Fraction(1)),)
        return self.transitions[x]

    # -- reward-related scalars --------------------------------------------------
    @property
    def range_reward(self) -> Fraction:
        """range R = max R − min R over the enabled pairs."""
        return self.max_reward - self.min_reward

    @property
    def max_reward(self) -> Fraction:
        """max R over the enabled pairs."""
        if self._mask is None:
            return max(self.reward)
        return max(r for r, on in zip(self.reward, self._mask) if on)

    @property
    def min_reward(self) -> Fraction:
        """min R over the enabled pairs."""
        if self._mask is None:
            return min(self.reward)
        return min(r for r, on in zip(self.reward, self._mask) if on)

    def with_reward(self, reward: Sequence[Fraction]) -> "MDP":
        """The same dynamics with another reward (e.g. a reward model R̂)."""
        return MDP(self.states, self.actions, self.gamma, self.initial, tuple(reward),
                   self.transitions, self.name, self.enabled)

    # -- policies ---------------------------------------------------------------
    def deterministic_policies(self) -> Iterator[DeterministicPolicy]:
        """All deterministic policies (|A|^|S| of them without an ``enabled`` table; only
        enabled actions otherwise), first state varying slowest."""
        if self.enabled is None:
            return itertools.product(range(len(self.actions)), repeat=len(self.states))
        return itertools.product(*self.enabled)

    @property
    def n_deterministic_policies(self) -> int:
        if self.enabled is None:
            return len(self.actions) ** len(self.states)
        return math.prod(len(a) for a in self.enabled)

    def policy_from_mapping(self, mapping: Mapping[str, str], *, table: str = "policy") -> DeterministicPolicy:
        """``{state: action}`` naming every state once → action indices."""
        if not isinstance(mapping, Mapping):
            raise ModelError("a policy must map every state to an action", table=table)
        unknown = [s for s in mapping if s not in self._state_index]
        if unknown:
            self.state_index(unknown[0], table=table)
        missing = [s for s in self.states if s not in mapping]
        if missing:
            raise ModelError(f"no action given for state {missing[0]!r}", table=table, entry=missing[0])
        policy = tuple(self.action_index(mapping[s], table=table) for s in self.states)
        for s, a in enumerate(policy):
            if not self.is_enabled(s * len(self.actions) + a):
                raise ModelError(f"action {self.actions[a]!r} is not enabled in state {self.states[s]!r}",
                                 table=table, entry=self.states[s])
        return policy

    def policy_to_mapping(self, policy: DeterministicPolicy) -> dict[str, str]:
        return {self.states[s]: self.actions[a] for s, a in enumerate(policy)}

    def policy_pairs(self, policy: DeterministicPolicy) -> list[int]:
        """The flat pair index (s, π(s)) for every state."""
        m = len(self.actions)
        return [s * m + a for s, a in enumerate(policy)]

    # -- tables ------------------------------------------------------------------
    def pair_table(self, values: Sequence[Fraction]) -> dict[str, dict[str, str]]:
        """A pair vector as ``{state: {action: "p/q"}}`` (the file format's shape; enabled pairs only)."""
        m = len(self.actions)
        return {s: {a: format_rational(values[i * m + j]) for j, a in enumerate(self.actions)
                    if self.is_enabled(i * m + j)}
                for i, s in enumerate(self.states)}

    def vector_from_table(self, table: Mapping, *, name: str, default_zero: bool,
                          file: str | None = None) -> Vector:
        """``{state: {action: number}}`` → pair vector, naming any bad entry."""
        n, m = len(self.states), len(self.actions)
        if not isinstance(table, Mapping):
            raise ModelError(f"expected a table of states, got {type(table).__name__}", file=file, table=name)
        values: list[Fraction | None] = [None] * (n * m)
        for state, row in table.items():
            s = self.state_index(state, table=name)
            where = f"{name}.{state}"
            if not isinstance(row, Mapping):
                raise ModelError(f"expected a table of actions, got {type(row).__name__}", table=where)
            for action, raw in row.items():
                a = self.action_index(action, table=where)
                if not self.is_enabled(s * m + a):
                    raise ModelError(f"action {action!r} is not enabled in state {state!r}, so it takes no "
                                     f"{name} entry", table=where, entry=str(action))
                try:
                    values[s * m + a] = parse_rational(raw)
                except ModelError as exc:
                    raise ModelError(exc.message, table=where, entry=str(action)) from None
        for x, v in enumerate(values):
            if v is None:
                if not default_zero and self.is_enabled(x):
                    state, action = self.pair_name(x)
                    raise ModelError(f"missing {name} entry for action {action!r} (every state x action must be given)",
                                     table=f"{name}.{state}", entry=action)
                values[x] = Fraction(0)
        return tuple(values)  # type: ignore[arg-type]


def require_all_actions(mdp: MDP, what: str) -> None:
    """Refuse a model with an ``[enabled]`` table where ``what`` does not support one yet.

    The regularised (λ > 0), RLHF and error-measure layers mix over every action
    (soft optima, ``π_ref``), so an inert disabled pair would wrongly take part."""
    if mdp.has_disabled:
        raise ModelError(f"{what} does not support per-state action sets yet: this model has an [enabled] table "
                         "(the λ = 0 commands certify, threshold, matrix and safest do)", table="enabled")


def validate_distribution(mdp: MDP, values: Sequence[Fraction], *, name: str = "data") -> Vector:
    """Check a distribution over state-action pairs (non-negative, total exactly 1)."""
    values = tuple(values)
    if len(values) != mdp.n_pairs:
        raise ModelError(f"expected {mdp.n_pairs} probabilities, one per state-action pair, got {len(values)}",
                         table=name)
    for x, p in enumerate(values):
        state, action = mdp.pair_name(x)
        if not isinstance(p, Fraction):
            raise ModelError(f"probability must be an exact rational, got {p!r}",
                             table=f"{name}.{state}", entry=action)
        if p < 0:
            raise ModelError(f"negative probability {format_rational(p)}", table=f"{name}.{state}", entry=action)
        if p and not mdp.is_enabled(x):
            raise ModelError(f"probability {format_rational(p)} on a disabled pair (action {action!r} is not "
                             f"enabled in state {state!r})", table=f"{name}.{state}", entry=action)
    total = sum(values, Fraction(0))
    if total != 1:
        raise ModelError(f"probabilities sum to {format_rational(total)}, not 1", table=name)
    return values


def uniform_distribution(mdp: MDP) -> Vector:
    """Uniform over the enabled pairs (0 on disabled ones)."""
    share = Fraction(1, mdp.n_enabled_pairs)
    if not mdp.has_disabled:
        return (share,) * mdp.n_pairs
    return tuple(share if mdp.is_enabled(x) else Fraction(0) for x in range(mdp.n_pairs))


def _check_names(names: Iterable[str], what: str) -> None:
    names = tuple(names)
    if not names:
        raise ModelError("at least one name is needed", entry=what)
    limit = MAX_STATES if what == "states" else MAX_ACTIONS
    if len(names) > limit:
        raise ResourceLimit(f"{len(names)} {what}; at most {limit} are supported", entry=what)
    seen = set()
    for name in names:
        if not isinstance(name, str) or not name:
            raise ModelError(f"names must be non-empty strings, got {name!r}", entry=what)
        if name in seen:
            raise ModelError(f"duplicate name {name!r}", entry=what)
        seen.add(name)


def _check_distribution(values: Sequence[Fraction], size: int, what: str, label) -> None:
    if len(values) != size:
        raise ModelError(f"expected {size} probabilities, got {len(values)}", table=what)
    for i, p in enumerate(values):
        if not isinstance(p, Fraction):
            raise ModelError(f"probability must be an exact rational, got {p!r}", table=what, entry=label(i))
        if p < 0:
            raise ModelError(f"negative probability {format_rational(p)}", table=what, entry=label(i))
    total = sum(values, Fraction(0))
    if total != 1:
        raise ModelError(f"probabilities sum to {format_rational(total)}, not 1", table=what)


def _listing(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
