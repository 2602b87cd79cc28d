"""Hypothesis strategies for small exact MDPs, data distributions and policies.

Shared by every test that needs random instances; the signatures are part of
the test suite's contract, so extend them with new keyword arguments only.

* ``mdps(min_states=1, max_states=3, min_actions=1, max_actions=3, bandit=None)``
  draws an ``MDP`` with states ``s0, s1, ...`` and actions ``a0, a1, ...``:

  - ``gamma = p/q`` with ``q ≤ 6`` and ``0 ≤ p < q`` (so 0 is among the
    draws); ``bandit=True`` forces ``gamma = 0``, ``bandit=False`` forces
    ``gamma > 0``, ``None`` lets either happen;
  - transitions: each pair moves to one, two or three distinct next states
    with small positive integer weights, normalised exactly (sparse-ish rows);
    a bandit sometimes omits its transitions (``transitions is None``);
  - rewards: integers in ``[-3, 3]`` or fractions with denominator ``≤ 4``
    (ties are common, so degenerate and tied cases get exercised);
  - ``initial``: a distribution over states, possibly with zeros.

* ``distributions(mdp, allow_zeros=True)`` draws an exact distribution over
  ``mdp``'s state-action pairs (flat order ``x = s * |A| + a``) as a tuple of
  ``Fraction`` summing to exactly 1.  With ``allow_zeros`` some entries (but
  never all) may be 0; otherwise every entry is positive.

* ``deterministic_policies(mdp)`` and ``stochastic_policies(mdp, allow_zeros=True)``
  draw policies in the evaluator's shapes: a tuple of action indices, and a
  tuple of per-state probability rows.

Everything is exact (``fractions.Fraction``); nothing here calls the code under test
except the ``MDP`` constructor, whose validation every drawn instance passes.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st
from rewardcert.symbolic.core.model import MDP

__all__ = ["mdps", "distributions", "deterministic_policies", "stochastic_policies",
           "gammas", "rewards", "weights_to_distribution"]


def weights_to_distribution(weights) -> tuple[Fraction, ...]:
    """Normalise non-negative integer weights (not all zero) to exact probabilities."""
    total = sum(weights)
    return tuple(Fraction(w, total) for w in weights)


def _weights(size: int, *, allow_zeros: bool, high: int = 4):
    low = 0 if allow_zeros else 1
    return st.lists(st.integers(low, high), min_size=size, max_size=size).filter(lambda ws: sum(ws) > 0)


@st.composite
def gammas(draw, bandit: bool | None = None) -> Fraction:
    """A discount factor ``p/q`` in ``[0, 1)`` with ``q ≤ 6``."""
    if bandit:
        return Fraction(0)
    q = draw(st.integers(1 if bandit is None else 2, 6))
    p = draw(st.integers(0 if bandit is None else 1, q - 1))
    return Fraction(p, q)


def rewards():
    """A small exact reward: an integer in [-3, 3] or a fraction with denominator ≤ 4."""
    return st.one_of(
        st.integers(-3, 3).map(Fraction),
        st.builds(Fraction, st.integers(-6, 6), st.integers(1, 4)),
    )


@st.composite
def _row(draw, n_states: int) -> tuple[tuple[int, Fraction], ...]:
    k = draw(st.integers(1, min(3, n_states)))
    targets = draw(st.lists(st.integers(0, n_states - 1), min_size=k, max_size=k, unique=True))
    probs = weights_to_distribution(draw(_weights(k, allow_zeros=False)))
    return tuple(sorted(zip(targets, probs)))


@st.composite
def mdps(draw, min_states: int = 1, max_states: int = 3, min_actions: int = 1, max_actions: int = 3,
         bandit: bool | None = None) -> MDP:
    """A random small MDP with exact rational data (see the module docstring)."""
    n = draw(st.integers(min_states, max_states))
    m = draw(st.integers(min_actions, max_actions))
    gamma = draw(gammas(bandit))
    initial = weights_to_distribution(draw(_weights(n, allow_zeros=True)))
    reward = tuple(draw(st.lists(rewards(), min_size=n * m, max_size=n * m)))
    if gamma == 0 and draw(st.booleans()):
        transitions = None
    else:
        transitions = tuple(draw(st.lists(_row(n), min_size=n * m, max_size=n * m)))
    return MDP(tuple(f"s{i}" for i in range(n)), tuple(f"a{j}" for j in range(m)),
               gamma, initial, reward, transitions, name="random")


def distributions(mdp: MDP, allow_zeros: bool = True):
    """An exact distribution over ``mdp``'s pairs (flat order), summing to 1."""
    return _weights(mdp.n_pairs, allow_zeros=allow_zeros).map(weights_to_distribution)


def deterministic_policies(mdp: MDP):
    """A deterministic policy: one action index per state."""
    return st.tuples(*[st.integers(0, mdp.n_actions - 1) for _ in range(mdp.n_states)])


def stochastic_policies(mdp: MDP, allow_zeros: bool = True):
    """A stochastic policy: one exact probability row over actions per state."""
    row = _weights(mdp.n_actions, allow_zeros=allow_zeros).map(weights_to_distribution)
    return st.tuples(*[row for _ in range(mdp.n_states)])


# -- per-state action sets (issue 10) ------------------------------------------------

@st.composite
def enabled_mdps(draw, min_states: int = 1, max_states: int = 3, min_actions: int = 2, max_actions: int = 3,
                 bandit: bool | None = None, same_count: bool = False) -> MDP:
    """An MDP from ``mdps`` with a random ``enabled`` table: each state keeps a random
    non-empty subset of the actions (at least one state a proper subset when
    ``m > 1``).  ``same_count``: every state enables the same number of actions."""
    mdp = draw(mdps(min_states, max_states, min_actions, max_actions, bandit))
    n, m = mdp.n_states, mdp.n_actions
    k = draw(st.integers(1, m)) if same_count else None
    sets = []
    for _ in range(n):
        size = k if same_count else draw(st.integers(1, m))
        sets.append(tuple(sorted(draw(st.lists(st.integers(0, m - 1), min_size=size, max_size=size,
                                               unique=True)))))
    if all(len(a) == m for a in sets) and m > 1:
        sets[0] = sets[0][1:] if not same_count else sets[0]
    return MDP(mdp.states, mdp.actions, mdp.gamma, mdp.initial, mdp.reward, mdp.transitions,
               name="random-enabled", enabled=tuple(sets))


def enabled_distributions(mdp: MDP, allow_zeros: bool = True):
    """An exact distribution over the enabled pairs (0 on disabled ones)."""
    pairs = [x for x in range(mdp.n_pairs)
             if mdp.enabled is None or x % mdp.n_actions in mdp.enabled[x // mdp.n_actions]]

    def spread(weights):
        probs = weights_to_distribution(weights)
        out = [Fraction(0)] * mdp.n_pairs
        for x, p in zip(pairs, probs):
            out[x] = p
        return tuple(out)
    return _weights(len(pairs), allow_zeros=allow_zeros).map(spread)
