"""Seeded random instances shared by the benchmarks: MDPs, pair distributions, policies.

Every generator takes an integer ``seed`` and draws from its own
``random.Random(seed)``, so the same arguments give the same exact instance
on every run (no global random state is read or changed).  The instances are
ordinary :class:`rewardcert.symbolic.core.model.MDP` objects, validated by the model itself.

Shape of a random MDP:

* states ``s0 … s{n-1}``, actions ``a0 … a{m-1}``;
* sparse dynamics: each pair ``x = s·|A| + a`` moves to ``successors``
  distinct states drawn uniformly, with probabilities ``c_i / d`` where the
  denominator ``d`` is drawn from ``[successors, max_denominator]`` per pair
  and the numerators ``c_i ≥ 1`` are a random composition of ``d`` — so every
  probability is positive, has a small denominator, and each row sums to
  exactly 1;
* rewards ``k / reward_denominator`` with ``k`` uniform such that the reward
  lies in ``reward_range`` (integers by default);
* ``initial="uniform"`` (``1/n`` each) or ``initial="single"`` (all mass on
  one state drawn from the seed).

Example::

    >>> from benchmarks.common import random_mdp, random_distribution
    >>> mdp = random_mdp(7, 5, 2)
    >>> mdp.n_states, mdp.n_actions, mdp.gamma
    (5, 2, Fraction(9, 10))
    >>> all(len(row) == 3 and sum(p for _, p in row) == 1 for row in mdp.transitions)
    True
    >>> random_mdp(7, 5, 2) == mdp
    True
    >>> sum(random_distribution(7, mdp, zeros=0.5)) == 1
    True
"""

from __future__ import annotations

import random
from fractions import Fraction

from rewardcert.symbolic.core.model import (
    MDP,
    DeterministicPolicy,
    Vector,
    validate_distribution,
)
from rewardcert.symbolic.core.numbers import parse_rational


def random_mdp(seed: int, n_states: int, n_actions: int, *,
               gamma: Fraction | int | str = Fraction(9, 10),
               successors: int = 3,
               max_denominator: int = 12,
               reward_range: tuple[int, int] = (-10, 10),
               reward_denominator: int = 1,
               initial: str = "uniform") -> MDP:
    """A random MDP with sparse, small-denominator rational dynamics (see the module docstring).

    ``successors`` is capped at ``n_states``; ``max_denominator`` must be at
    least that many so that every successor gets a positive probability.
    """
    if n_states < 1 or n_actions < 1:
        raise ValueError("an MDP needs at least one state and one action")
    k = min(successors, n_states)
    if k < 1 or max_denominator < k:
        raise ValueError(f"need 1 <= successors <= max_denominator, got successors={successors}, "
                         f"max_denominator={max_denominator}")
    low, high = reward_range
    if low > high or reward_denominator < 1:
        raise ValueError(f"bad reward range {reward_range!r} / denominator {reward_denominator}")
    if initial not in ("uniform", "single"):
        raise ValueError(f'initial must be "uniform" or "single", got {initial!r}')
    rng = random.Random(seed)
    n_pairs = n_states * n_actions

    transitions = []
    for _ in range(n_pairs):
        targets = sorted(rng.sample(range(n_states), k))
        d = rng.randint(k, max_denominator)
        cuts = [0, *sorted(rng.sample(range(1, d), k - 1)), d]
        transitions.append(tuple((t, Fraction(cuts[i + 1] - cuts[i], d)) for i, t in enumerate(targets)))

    q = reward_denominator
    reward = tuple(Fraction(rng.randint(low * q, high * q), q) for _ in range(n_pairs))

    if initial == "uniform":
        start: Vector = (Fraction(1, n_states),) * n_states
    else:
        chosen = rng.randrange(n_states)
        start = tuple(Fraction(int(s == chosen)) for s in range(n_states))

    return MDP(states=tuple(f"s{i}" for i in range(n_states)),
               actions=tuple(f"a{j}" for j in range(n_actions)),
               gamma=parse_rational(gamma, what="gamma"),
               initial=start, reward=reward, transitions=tuple(transitions),
               name=f"random-{seed}-{n_states}x{n_actions}")


def random_distribution(seed: int, mdp: MDP, zeros: float = 0.0, *, max_weight: int = 10) -> Vector:
    """An exact distribution over the pairs of ``mdp`` (flat order ``x = s·|A| + a``).

    ``round(zeros · |S×A|)`` pairs, drawn from the seed, get probability 0
    (at least one pair always keeps positive mass); the others get integer
    weights in ``[1, max_weight]``, normalised exactly.  ``zeros`` only sizes
    the support, it never enters the numbers.
    """
    if not 0 <= zeros <= 1:
        raise ValueError(f"zeros is a share of the pairs in [0, 1], got {zeros!r}")
    rng = random.Random(seed)
    n_pairs = mdp.n_pairs
    zero_pairs = set(rng.sample(range(n_pairs), min(n_pairs - 1, round(zeros * n_pairs))))
    weights = [0 if x in zero_pairs else rng.randint(1, max_weight) for x in range(n_pairs)]
    total = sum(weights)
    return validate_distribution(mdp, tuple(Fraction(w, total) for w in weights))


def random_policy(seed: int, mdp: MDP) -> DeterministicPolicy:
    """A deterministic policy with one action per state drawn from the seed."""
    rng = random.Random(seed)
    return tuple(rng.randrange(mdp.n_actions) for _ in range(mdp.n_states))
