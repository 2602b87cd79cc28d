"""The regret-aware family bound and the families' own occupancy bounds (docs/engine.md §2).

The plain dual bounds every member of a family, also those of regret ``< L``, so a family that
holds a near-optimal policy can never close by it.  The regret-aware bound (format §3.6) counts
only members with ``J(π) ≤ thr``: ``max w·R − t·thr`` over ``w`` with flow ``t·μ0``, ``0 ≤ w ≤ D``
on the pairs a member may leave and ``w ≥ t·H − D`` on the pairs it may take, where ``H(s)``
bounds every member's occupancy of ``s``.  ``H`` is the global one (``occupancy.py``, format §3.7)
or, below a node that lowered it for its own members, that node's (``FamilyOccupancy``, §3.7a).
``RegretAware`` is the layer of ``BranchAndBound`` that computes these (``bounding.py`` lists the
layers).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..exact.linalg import to_fmpq, to_fraction
from .bounding import ZERO_Q, Bounding
from .occupancy import FamilyOccupancy, occupancy_bounds
from .results import Closure


@dataclass
class Horizon:
    """The ``H(s)`` in force in a subtree: ``values`` (fmpq), lowered at ``family`` by ``vectors``
    (format §3.7a) from the bounds ``above`` (None: the global ones); ``policies``: the float
    maximisers, a warm start for subfamilies."""

    values: list
    family: tuple
    vectors: dict
    policies: object
    above: Horizon | None


class RegretAware(Bounding):
    """The regret-aware bound of a family, with the occupancy bounds it needs."""

    def horizons(self) -> list:
        """H(s) ≥ d^π(s) for every policy (format §3.7), certified when the certificate is built."""
        if self.global_horizon is None:
            if self.occupancy is None:
                self.occupancy = occupancy_bounds(self.mdp)
            self.global_horizon = [to_fmpq(h) for h in self.occupancy.horizon]
        return self.global_horizon

    def family_horizon(self, family, above: Horizon | None) -> Horizon | None:
        """The ``H`` in force for ``family``'s members: lowered for them (certified, format §3.7a),
        unless ``family_occupancy`` is off or the floats find nothing lower; else ``above`` (the
        bounds in force above it; None: the global ones).  The visit asks for it only at
        ``NODE_OCCUPANCY_DEPTHS``; a stopped search's open families ask at any depth."""
        if not self.options.family_occupancy:
            return above
        if self.family_bounds is None:
            self.family_bounds = FamilyOccupancy(self.mdp, self.enabled)
        base = self.horizons() if above is None else above.values
        refined = self.family_bounds.refine(family, [to_fraction(h) for h in base],
                                            None if above is None else above.policies)
        if refined is None or not refined[1]:
            return above
        values, vectors, policies = refined
        return Horizon([to_fmpq(h) for h in values], tuple(family), vectors, policies, above)

    def mark_used(self, horizon: Horizon | None, family, proven) -> None:
        """Record the §3.7a vectors that ``proven`` (``regret_exact``'s closure of ``family``) needs.
        Its rule is ``w(x) ≥ t·H(s) − D(x)`` on every pair a member may take; for each state the
        vector kept is the one nearest the root whose ``H(s)`` already satisfies it, and none where
        the global ``H(s)`` does (a node may carry any subset of its vectors, format §3.7a).  On the
        lake at L = 3/4 that keeps 30% of them: the rest would only fill the certificate."""
        if horizon is None:
            return
        chain = []                     # the levels in force, nearest the root first
        level = horizon
        while level is not None:
            chain.append(level)
            level = level.above
        chain.reverse()
        m, data_q, node_bounds = self.m, self.data_q, self.node_bounds
        t, w = proven[1], self.lp.dual(proven[2])
        base = self.horizons()
        for s, a in enumerate(family):
            taken = self.pairs_of[s] if a is None else [x for x in self.pairs_of[s] if x % m == a]
            slack = min((w[x] + data_q[x] for x in taken), default=None)     # t·H(s) may be up to this
            if slack is None or t * base[s] <= slack:
                continue
            level = next((level for level in chain if t * level.values[s] <= slack), None)
            if level is None or s not in level.vectors:
                # Cannot happen (the closure satisfies the deepest level, and the first level that
                # suffices is one that lowered H(s)); if it did, keep every vector of every level.
                for level in chain:
                    node_bounds.setdefault(level.family, {}).update(level.vectors)
                return
            node_bounds.setdefault(level.family, {})[s] = level.vectors[s]

    def regret_dual(self, family, stop_at=None, parent=None, horizon: Horizon | None = None):
        """The regret-aware family bound (docs/engine.md §2): ``max w·R − t·thr`` over ``w`` with flow
        ``t·μ0``, ``0 ≤ w ≤ D`` on pairs a member may leave and ``w ≥ t·H − D`` on pairs it may take,
        at the largest ``t`` with ``t·H ≤ D`` on the family's pairs (so free pairs keep the lower
        bound 0), as ``(t, float LP state, family, the pair that bounds t, the H used)``; None if that
        ``t`` is 0.  ``regret_closure`` turns it into an exact closure.

        It is the family LP of §1 with the right-hand side ``t·μ0`` and the fixed pairs' lower bound
        raised from ``−D`` to ``t·H − D``.  ``parent``: the parent family's tuple.  A child's pairs
        are some of its parent's, so where the same ``H`` is in force and the pair that bounded the
        parent's ``t`` is still the child's, ``t`` is the parent's, and so are the lower bounds except
        at the pairs the child fixes.  With the same ``t`` the parent's ``w`` is feasible here too (a
        child only relaxes one pair's bound), so the LP starts from it.  Otherwise it starts from
        ``t·η``, a member's occupancy, on that member's columns: feasible, as ``0 ≤ t·η ≤ t·H ≤ D``.
        ``horizon``: the family's ``H`` (§3.7a), if not the global one."""
        mdp, n, m, data_q, flp, to_float = self.mdp, self.n, self.m, self.data_q, self.flp, self.to_float
        horizon = self.horizons() if horizon is None else horizon.values
        usable = parent is not None and not parent[1].failed
        if usable and parent[4] is horizon and family[parent[3] // m] in (None, parent[3] % m):
            t, pair = parent[0], parent[3]
            lower, flower = list(parent[1].lower), parent[1].flower.copy()
            fixed = [s for s, (a, was) in enumerate(zip(family, parent[2])) if a is not None and was is None]
        else:
            # Pairs a member may take (a disabled pair never is: D = 0 there and w stays 0).
            allowed = [x for x in range(n * m)
                       if (family[x // m] is None or family[x // m] == x % m) and mdp.is_enabled(x)]
            # The largest t keeping t·H(s) ≤ D on every pair a member may take, and a pair that
            # attains it.  (A state no policy reaches may have H = 0: then t·H = 0 ≤ D whatever t is.)
            t, pair = min(((data_q[x] / horizon[x // m], x) for x in allowed if horizon[x // m]),
                          default=(ZERO_Q, None))
            if t == 0:
                return None
            lower, flower = [ZERO_Q] * self.lp.width, None
            fixed = [s for s, a in enumerate(family) if a is not None]
        for s in fixed:
            x = s * m + family[s]
            if mdp.is_enabled(x):
                lower[x] = t * horizon[s] - data_q[x]
                if flower is not None:
                    flower[x] = to_float(lower[x])
        if usable and parent[0] == t:
            state = flp.bind(parent[1].copy(), lower, parent[1].rhs, flower)   # the same t: the same t·μ0
        else:
            member = self.member_of(family)
            state = flp.start([s * m + a for s, a in enumerate(member)], lower, rhs=[t * p for p in self.mu0])
        target = None if stop_at is None else stop_at + t * self.threshold
        return t, self.float_solve(state, target), tuple(family), pair, horizon

    def regret_exact(self, found, target=None, strict=False, should_stop=None):
        """``found`` (``regret_dual``'s) made exact: ``(w·R − t·thr, t, exact LP state)`` if its exact
        value reaches ``target`` (any value, if None); else None."""
        t, state, family = found[:3]
        offset = t * self.threshold
        if target is None:
            exact = self.exact_vertex(state) or \
                self.exact_solve(state, family, t, should_stop=should_stop or self.out_of_time)
        else:
            exact = self.prove(state, family, target + offset, strict, t, should_stop)
            if exact is None:
                return None
        return exact.objective - offset, t, exact

    def regret_closure(self, family, proven) -> Closure:
        """The regret-aware closure of ``family`` from ``regret_exact``'s ``proven``."""
        value, t, exact = proven
        return Closure(tuple(family), "regret-dual", bound=to_fraction(value), t=to_fraction(t),
                       w=self.keep(self.lp.dual(exact)))
