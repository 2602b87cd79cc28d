"""The bottom layer of the λ = 0 search: its state, its budgets, and the LP of one family.

``BranchAndBound`` (``engine.py``) is one class built in layers, one module each, each using only
the layers below it:

* ``bounding.py`` (this one), ``Bounding``: the problem and the whole state of a search, set up
  once; the budgets; a family's float LP and, where an answer is used, its exact vertex;
* ``regret.py``, ``RegretAware``: the regret-aware family bound and the families' own occupancy
  bounds (format §3.6, §3.7a);
* ``nodes.py``, ``Nodes``: what happens at one node: closures, leaves and the incumbent, the
  children of a split and the state to split on;
* ``finish.py``, ``Finishing``: a stopped search's open families (their bounds, the refinement)
  and the result;
* ``engine.py``, ``BranchAndBound``: the depth-first visit and ``run``.

Floats only propose here; a family closes on an exact vertex only ("Float pivots, exact
decisions", ``docs/engine.md`` §2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Sequence

from flint import fmpq

from ..core.model import MDP, validate_distribution
from ..core.parameters import check_regret_bound
from ..exact.duplicates import duplicate_actions
from ..exact.evaluation import policy_iteration
from ..exact.familylp import FamilyLP, LPState
from ..exact.linalg import bellman_solve, dynamics, to_fmpq, to_fractions_sized
from ..guidance.floatvi import return_bounds
from .families import family_size, fixed_branch_order
from .options import SearchOptions
from .results import Closure, SearchStats

if TYPE_CHECKING:
    from ..guidance.floatlp import FloatState


ZERO_Q = fmpq(0)


class OutOfBudget(Exception):
    """A budget ran out (time, nodes, memory, an interrupt), or the answer is decided: the search
    unwinds, recording the families it leaves open, and brackets ``ε*(D)``."""


@dataclass
class Incumbent:
    """The least exact ``f_π(D)`` known for a member of ``Π_L``."""

    value: fmpq | None = None
    """``f_π(D)`` (not normalised); from ``incumbent_bound`` before the search finds a member."""
    found: tuple | None = None
    """``(policy, exact LPState)`` of the member with that value; None while the value is a bound
    found elsewhere (a parallel subtree's ``incumbent_bound``)."""


@dataclass
class Counters:
    """What the search did so far (``SearchStats`` without the time)."""

    nodes: int = 0
    regret: int = 0           # families closed by regret
    dual: int = 0             # ... by a plain dual (single-policy leaves included)
    leaves: int = 0           # single policies solved to optimality
    lps: int = 0              # float LPs
    pivots: int = 0           # their pivots and the exact simplex's
    regret_dual: int = 0      # families closed by the regret-aware bound
    regret_tries: int = 0     # ... on which it was tried inside the search
    vertices: int = 0         # float bases rebuilt exactly
    exact: int = 0            # exact simplex runs

    def stats(self, seconds: float) -> SearchStats:
        return SearchStats(self.nodes, self.regret, self.dual, self.leaves, self.lps, self.pivots, seconds,
                           regret_dual_closures=self.regret_dual, exact_vertices=self.vertices,
                           exact_solves=self.exact)


@dataclass
class Trial:
    """The in-search regret-aware bound's trial since the incumbent last fell (``REGRET_TRIAL``)."""

    tries: int = 0
    closed: int = 0


class Bounding:
    """The search's problem and state (set up by ``__init__``, in the order the checks must run)
    and the LPs of one family.  See ``engine.py`` for the class the layers make up."""

    def __init__(self, mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction,
                 options: SearchOptions | None = None) -> None:
        """Validate the question (``ModelError`` for ``data`` and ``L``, ``ValueError`` for the
        options, as ``critical_epsilon`` always raised them) and set up the search's state.
        ``options``: what to search for and how (None: ``SearchOptions()``, ``ε*(D)`` unbudgeted)."""
        from ..guidance.floatlp import (  # numpy: not at start-up
            FloatFamilyLP,
            FloatPessimal,
            to_float,
        )
        from ..guidance.incumbent import LocalSearch
        self.options = options = SearchOptions() if options is None else options
        self.mdp = mdp
        self.data = data = validate_distribution(mdp, data)
        regret_bound = check_regret_bound(regret_bound)
        self.started = time.monotonic()                 # the time budget counts from here
        self.bounds = bounds = options.bounds or return_bounds(mdp)
        self.n, self.m = n, m = mdp.n_states, mdp.n_actions
        if bounds.degenerate:
            return                      # every policy has the same return: ``run`` answers at once

        # -- The problem: the LPs, the threshold, the branch order, the root, the reduced actions ----
        self.dyn = dyn = dynamics(mdp)
        self.reward = reward = [to_fmpq(r) for r in mdp.reward]
        self.lp = lp = FamilyLP(dyn, reward, [to_fmpq(d) for d in data])
        self.threshold = to_fmpq(bounds.regret_threshold(regret_bound))
        self.range_r = range_r = mdp.range_reward
        self.order = order = tuple(options.branch_order) if options.branch_order is not None else \
            fixed_branch_order(mdp, bounds)
        if options.branching not in ("fixed", "dynamic"):
            raise ValueError(f"branching must be 'fixed' or 'dynamic', got {options.branching!r}")
        if sorted(order) != list(range(n)):
            raise ValueError(f"branch_order must be a permutation of the {n} states")
        self.root = root = [None] * n if options.root is None else list(options.root)
        self.depth0 = depth0 = sum(a is not None for a in root)      # the states the root fixes
        if len(root) != n or any(root[s] is None for s in order[:depth0]):
            raise ValueError("root must fix exactly the first states of the branch order")
        self.mu0 = dyn.mu0
        # Families range over enabled actions only (disabled pairs are inert: D = 0 there, so y = 0),
        # and over the reduced policies only: a duplicate action is covered by its twin (format §3.8).
        self.duplicates = duplicates = duplicate_actions(mdp, data, merge=options.merge_duplicates)
        self.enabled = enabled = duplicates.actions
        if any(a is not None and a not in enabled[s] for s, a in enumerate(root)):
            raise ValueError("root must fix only actions of the reduced policies")
        self.total = family_size(enabled, root)                       # the policies to cover
        # uniformly pessimal still: the same Q-values
        self.reduced_pessimal = duplicates.reduce(bounds.pessimal_policy)
        self.decide_value = decide_value = \
            to_fmpq(options.decide_epsilon * range_r) if options.decide_epsilon is not None else None
        stop_value = to_fmpq(options.stop_below * range_r) if options.stop_below is not None else None
        if decide_value is not None and (stop_value is None or decide_value < stop_value):
            stop_value = decide_value
        self.stop_value = stop_value                    # a witness at or below it ends the search
        self.data_q = lp.upper
        self.flp = FloatFamilyLP(lp)        # pivots in floats; every closure is rebuilt and checked exactly
        self.data_f = self.flp.upper
        self.to_float = to_float
        self.pairs_of = [[x for x in range(s * m, s * m + m) if mdp.is_enabled(x)] for s in range(n)]
        self.float_pessimal = FloatPessimal(dyn, reward, enabled)
        self.threshold_f = to_float(self.threshold)
        self.local_search = LocalSearch(self.flp, self.float_pessimal, enabled, self.threshold) \
            if options.polish_incumbents else None

        # -- What the search has found and done so far -----------------------------------------------
        self.closures: list[Closure] = []           # the closed leaves of the certificate tree
        self.incumbent = Incumbent(to_fmpq(Fraction(options.incumbent_bound))
                                   if options.incumbent_bound is not None else None)
        self.count = Counters()
        self.trial = Trial()
        self.covered = 0                              # policies in closed families (for ``progress``)
        self.open_leaves: list[tuple] = []           # left unexplored: (family, float LP state, pessimal)
        self.held = 0                                 # estimated bytes of the closures kept
        self.stop_reason: str | None = None          # "memory" when the closures' budget stopped it
        self.splits: dict = {}                        # internal node (family) -> the state it splits on
        self.search_stats: SearchStats | None = None  # the counters when the search proper ended
        # The regret-aware bound's occupancy bounds (regret.py), each computed on first use:
        self.occupancy = options.occupancy            # the global H(s) with their evidence ...
        self.global_horizon: list | None = None       # ... and their values as fmpq
        self.family_bounds = None                     # the FamilyOccupancy (format §3.7a)
        self.node_bounds: dict = {}                   # family -> {s: U_s}: §3.7a bounds a closure below used
        # A stopped search's finishing phase (finish.py):
        self.finish_seconds: float | None = None      # its budget ...
        self.finish_deadline: float | None = None     # ... and when it runs out
        self.fallback_tried = False                   # the search root's regret-aware closure was tried:
        self.fallback: Closure | None = None          # ... it, if it was proven

    # -- Budgets ---------------------------------------------------------------------------------------

    def check_budget(self) -> None:
        """Raise ``OutOfBudget`` if a budget ran out (polled at every node)."""
        options = self.options
        if options.max_closure_bytes is not None and self.held > options.max_closure_bytes:
            self.stop_reason = "memory"
            raise OutOfBudget
        if options.max_seconds is not None and time.monotonic() - self.started > options.max_seconds:
            raise OutOfBudget
        if options.max_nodes is not None and self.count.nodes >= options.max_nodes:
            raise OutOfBudget
        if options.should_stop is not None and options.should_stop():
            raise OutOfBudget

    def out_of_time(self) -> bool:
        """Polled inside the exact LPs: an interrupted LP still holds a feasible dual (a valid bound)."""
        options = self.options
        return (options.max_seconds is not None and time.monotonic() - self.started > options.max_seconds) or \
            (options.should_stop is not None and options.should_stop())

    def decided(self) -> bool:
        """The incumbent is a witness at or below ``stop_value``: it decides "unsafe at that ε"."""
        return self.stop_value is not None and self.incumbent.found is not None and \
            self.incumbent.value <= self.stop_value

    def keep(self, values) -> tuple:
        """``values`` as Fractions for a closure, counted against the closures' memory budget."""
        values, size = to_fractions_sized(values)
        self.held += size
        return values

    def report(self, size: int) -> None:
        """``size`` more policies are covered by closed families."""
        self.covered += size
        if self.options.progress:
            self.options.progress(self.covered, self.total)

    # -- One family's LPs ------------------------------------------------------------------------------

    def pessimal(self, family: Sequence[int | None], start: Sequence[int]):
        """A uniformly pessimal member of ``family`` by exact policy iteration from ``start``: the
        policy, its values and its return."""
        enabled = self.enabled
        allowed = [enabled[s] if a is None else (a,) for s, a in enumerate(family)]
        policy, values = policy_iteration(self.mdp, self.reward, maximise=False, allowed=allowed, start=start)
        return policy, values, sum((p * v for p, v in zip(self.mu0, values) if p), fmpq(0))

    def member_of(self, family) -> list[int]:
        """One member of ``family``: its fixed actions, the reduced pessimal policy's elsewhere."""
        return [a if a is not None else p for a, p in zip(family, self.reduced_pessimal)]

    def exact_vertex(self, state: FloatState) -> LPState | None:
        """The float basis's vertex, rebuilt exactly (cached); None if it is not exactly feasible."""
        if state.exact is None:
            named = None if state.failed else self.flp.bounds(state)
            vertex = None if named is None else \
                self.lp.vertex(state.basis.tolist(), *named, state.lower, state.rhs)
            self.count.vertices += 1
            state.exact = vertex if vertex is not None else False
        return state.exact or None

    def exact_start(self, state: FloatState, family, t=None) -> LPState:
        """A feasible exact state for ``state``'s LP: its exact vertex, else a start that is feasible
        by construction (``y = 0``; for the regret-aware LP ``t·η`` of a member, on its columns)."""
        vertex = self.exact_vertex(state)
        if vertex is not None:
            return vertex.copy()
        member = self.member_of(family)
        if state.rhs is None:
            return self.lp.initial_state(member)
        m = self.m
        occupancy = bellman_solve(self.dyn, member, self.dyn.mu0, transpose=True)
        start = [ZERO_Q] * (self.n * m)
        for s, a in enumerate(member):
            start[s * m + a] = t * occupancy[s]
        return self.lp.initial_state(member, start)

    def exact_solve(self, state: FloatState, family, t=None, **options) -> LPState:
        """The exact simplex from ``exact_start`` (``options``: ``FamilyLP.solve``'s)."""
        exact = self.lp.solve(self.exact_start(state, family, t), state.lower, **options)
        self.count.exact += 1
        self.count.pivots += exact.pivots
        return exact

    def prove(self, state: FloatState, family, target: fmpq, strict: bool = False, t=None,
              should_stop=None) -> LPState | None:
        """An exact feasible vertex of ``state``'s LP whose value reaches ``target`` (exceeds it, if
        ``strict``), or None.  The floats only say where to look: a value clearly below the target
        is not rebuilt (the family is split, which is always sound); otherwise the exact vertex
        decides, and if the floats overrated it the exact simplex carries on from it.  Where the
        floats failed, None: a split is always sound."""
        reaches = (lambda v: v > target) if strict else (lambda v: v >= target)
        if not state.failed and state.value < self.to_float(target) - self.flp.margin:
            return None
        vertex = self.exact_vertex(state)
        if vertex is not None and reaches(vertex.objective):
            return vertex
        if state.failed or vertex is None:
            # The floats gave up or went wrong: split the family rather than run the exact simplex
            # from nothing (at 64 states that took minutes); its children get fresh float LPs.
            return None
        exact = self.exact_solve(state, family, t, stop_at=target, strict=strict,
                                 should_stop=should_stop or self.out_of_time)
        state.exact = exact
        return exact if reaches(exact.objective) else None

    def exact_optimum(self, state: FloatState, family, should_stop=None) -> LPState:
        """The exact optimum of a single policy's LP from the float basis (``optimal`` False if the
        budget cut it short); pricing every pair exactly confirms the floats' answer."""
        exact = self.exact_solve(state, family, should_stop=should_stop or self.out_of_time)
        state.exact = exact
        return exact

    def float_solve(self, state: FloatState, target) -> FloatState:
        """Pivot ``state`` in floats (until it passes ``target``, if given); a solve that gives up
        restarts from HiGHS's basis (``FloatFamilyLP.rescue``)."""
        flp = self.flp
        flp.solve(state, None if target is None else self.to_float(target))
        if state.failed:
            state = flp.rescue(state)
        self.count.lps += 1
        self.count.pivots += state.pivots
        return state

    def bound(self, family: Sequence[int | None], parent: FloatState | None,
              basis_policy: Sequence[int]) -> FloatState:
        """The family LP in floats, warm-started from the parent's (a child only relaxes its bounds),
        solved until it passes the value that would close it (``ε·range R`` or the incumbent)."""
        lp, flp, m = self.lp, self.flp, self.m
        lower, flower = lp.lower_bounds(family), flp.family_lower(family)
        state = flp.bind(parent.copy(), lower, flower=flower) if parent is not None and not parent.failed else \
            flp.start([s * m + a for s, a in enumerate(basis_policy)], lower, flower=flower)
        return self.float_solve(state, self.decide_value if self.decide_value is not None else self.incumbent.value)
