"""docs/import.md's rules for a tabular ``P[s][a] = [(p, s', r, done), ...]`` table (Gymnasium toy-text).

Pure Python: nothing here imports gymnasium, so the rules are tested whether or
not the extra is installed.

1. **Rationalise.** Each float becomes the rational with the smallest denominator
   in the closed interval ``[v − 10⁻¹², v + 10⁻¹²]`` (exactly ``1/10¹²``), and the
   smallest numerator among those: the simplest rational of the Stern–Brocot tree,
   found by continued fractions (``simplest_rational``).  Probabilities,
   rewards and μ0 follow this rule. Every entry whose value changed (the rational
   differs from the float's exact binary value) is reported.
2. **Merge.** Successors that repeat (the same next state, or two ``done``
   successors) are merged by adding their probabilities.
3. **Exact rows.** Each merged row must then sum to exactly 1, or the import
   fails with the entry named. Nothing is renormalised.
4. **Reward.** ``R(s, a) = Σ p · r`` over the listed successors, with the rationalised
   ``p`` and ``r``.
5. **Terminal.** A successor flagged ``done`` goes to one absorbing, zero-reward
   state (named ``terminal`` unless that name is taken). The reward on the way
   in is kept.
6. **Action sets.** A state whose table lacks some actions enables only the ones it has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Integral, Real
from typing import Any, Mapping, Sequence

from rewardcert.symbolic.core.errors import ModelError, ResourceLimit
from rewardcert.symbolic.core.model import MAX_PAIRS, MAX_STATES, MDP
from rewardcert.symbolic.core.numbers import format_rational

TOLERANCE = Fraction(1, 10 ** 12)


def simplest_rational(lo: Fraction, hi: Fraction) -> Fraction:
    """The rational with the smallest denominator in ``[lo, hi]`` (smallest |numerator| on ties)."""
    if lo > hi:
        raise ValueError("empty interval")
    if lo <= 0 <= hi:
        return Fraction(0)
    if hi < 0:
        return -simplest_rational(-hi, -lo)
    # 0 < lo <= hi: continued fractions, iteratively.  x = [a0; a1, ...] built from both ends.
    terms: list[int] = []
    while True:
        fl = math.floor(lo)
        if fl == lo or fl + 1 <= hi:
            terms.append(fl if fl == lo else fl + 1)
            break
        terms.append(fl)
        lo, hi = 1 / (hi - fl), 1 / (lo - fl)
    value = Fraction(terms[-1])
    for a in reversed(terms[:-1]):
        value = a + 1 / value
    return value


def rationalise(value: float) -> Fraction:
    """docs/import.md: the smallest-denominator rational within ``10⁻¹²`` of ``value``."""
    exact = Fraction(value)
    return simplest_rational(exact - TOLERANCE, exact + TOLERANCE)


@dataclass
class Report:
    """What the import changed: one line per rationalised entry, plus merges."""

    changed: list[tuple[str, str, Fraction]] = field(default_factory=list)   # (entry, float text, rational)
    merged: list[tuple[str, int]] = field(default_factory=list)             # (entry, successors merged)
    terminal: str | None = None

    def lines(self, limit: int | None = None) -> list[str]:
        out = [f"rationalised {len(self.changed)} entr{'y' if len(self.changed) == 1 else 'ies'} "
               "(smallest denominator within 1e-12):"]
        shown = self.changed if limit is None else self.changed[:limit]
        out += [f"  {entry}: {text} -> {format_rational(q)}" for entry, text, q in shown]
        if limit is not None and len(self.changed) > limit:
            out.append(f"  ... and {len(self.changed) - limit} more (--report FILE lists them all)")
        if self.merged:
            out.append(f"merged repeated successors in {len(self.merged)} row(s)")
        if self.terminal:
            out.append(f"'done' successors go to the absorbing state {self.terminal!r}")
        return out


def _number(value: Any, entry: str, report: Report, what: str) -> Fraction:
    """An int stays exact; a float is rationalised (and reported if that changed it)."""
    if isinstance(value, bool):
        raise ModelError(f"{what} is a boolean, not a number", entry=entry)
    if isinstance(value, Integral):
        return Fraction(int(value))
    if isinstance(value, Real):
        f = float(value)
        if not math.isfinite(f):
            raise ModelError(f"{what} {f} is not finite", entry=entry)
        q = rationalise(f)
        if q != Fraction(f):
            report.changed.append((entry, repr(f), q))
        return q
    raise ModelError(f"{what} must be a number, got {type(value).__name__}", entry=entry)


def _index(value: Any, n: int, entry: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or not 0 <= int(value) < n:
        raise ModelError(f"next state {value!r} is not a state index in [0, {n})", entry=entry)
    return int(value)


def from_transition_table(P: Mapping[int, Mapping[int, Sequence]], initial: Sequence, gamma: Fraction, *,
                          state_names: Sequence[str] | None = None, action_names: Sequence[str] | None = None,
                          name: str = "", source: str = "P") -> tuple[MDP, Report]:
    """The exact MDP of a ``P[s][a] = [(p, s', r, done), ...]`` table (module docstring)."""
    report = Report()
    n = len(P)
    if n == 0:
        raise ModelError("the transition table has no states", entry=source)
    if sorted(P) != list(range(n)):
        raise ModelError("the states of the transition table must be 0 .. n-1", entry=source)
    action_ids = sorted({int(a) for s in range(n) for a in P[s]})
    if not action_ids or action_ids != list(range(len(action_ids))):
        raise ModelError("the actions of the transition table must be 0 .. m-1", entry=source)
    m = len(action_ids)
    states = list(state_names) if state_names is not None else [f"s{i}" for i in range(n)]
    actions = list(action_names) if action_names is not None else [f"a{j}" for j in range(m)]
    if len(states) != n or len(actions) != m:
        raise ModelError("internal error: state or action names do not match the table", entry=source)
    terminal_needed = any(len(t) >= 4 and bool(t[3]) for s in range(n) for a in P[s] for t in P[s][a])
    total_states = n + (1 if terminal_needed else 0)
    if total_states > MAX_STATES or total_states * m > MAX_PAIRS:
        raise ResourceLimit(f"{total_states} states x {m} actions is beyond the model limits", entry=source)
    terminal = None
    if terminal_needed:
        terminal = "terminal"
        while terminal in states:
            terminal = "_" + terminal
        states.append(terminal)
        report.terminal = terminal
    t_index = n
    enabled: list[tuple[int, ...]] = []
    reward: list[Fraction] = []
    transitions: list[tuple[tuple[int, Fraction], ...]] = []
    for s in range(n):
        row_actions = sorted(int(a) for a in P[s])
        if not row_actions:
            raise ModelError("a state with no actions", entry=f"{source}[{s}]")
        enabled.append(tuple(row_actions))
        for a in range(m):
            if a not in row_actions:
                reward.append(Fraction(0))
                transitions.append(((s, Fraction(1)),))
                continue
            entry = f"{source}[{s}][{a}]"
            outcomes = P[s][a]
            merged: dict[int, Fraction] = {}
            r_total = Fraction(0)
            nonzero = 0
            for k, outcome in enumerate(outcomes):
                where = f"{entry}[{k}]"
                if not isinstance(outcome, (tuple, list)) or len(outcome) < 3:
                    raise ModelError("expected a tuple (probability, next_state, reward, done)", entry=where)
                p = _number(outcome[0], f"{where} probability", report, "probability")
                if p < 0:
                    raise ModelError(f"negative probability {format_rational(p)}", entry=where)
                r = _number(outcome[2], f"{where} reward", report, "reward")
                done = bool(outcome[3]) if len(outcome) >= 4 else False
                target = t_index if done else _index(outcome[1], n, where)
                r_total += p * r
                if p:
                    nonzero += 1
                    merged[target] = merged.get(target, Fraction(0)) + p
            if len(merged) < nonzero:
                report.merged.append((entry, nonzero - len(merged)))
            total = sum(merged.values(), Fraction(0))
            if total != 1:
                raise ModelError(f"the rationalised probabilities sum to {format_rational(total)}, not 1",
                                 entry=entry)
            reward.append(r_total)
            transitions.append(tuple(sorted(merged.items())))
    if terminal_needed:
        enabled.append(tuple(range(m)))
        for a in range(m):
            reward.append(Fraction(0))
            transitions.append(((t_index, Fraction(1)),))
    mu0 = [_number(p, f"initial[{s}]", report, "initial probability") for s, p in enumerate(initial)]
    if len(mu0) != n:
        raise ModelError(f"the initial distribution has {len(mu0)} entries, expected {n}", entry="initial")
    if any(p < 0 for p in mu0) or sum(mu0) != 1:
        raise ModelError(f"the rationalised initial distribution sums to {format_rational(sum(mu0))}, not 1",
                         entry="initial")
    if terminal_needed:
        mu0.append(Fraction(0))
    mdp = MDP(tuple(states), tuple(actions), gamma, tuple(mu0), tuple(reward), tuple(transitions), name,
              tuple(enabled))
    return mdp, report
