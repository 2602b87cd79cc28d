"""Exact safety decisions without regularisation (docs/theory.md §2–§3, §6 family certificates).

``policy_error`` solves ``f_π(D)`` (the least expected error of a reward model
that makes ``π`` optimal) exactly, with the witness ``R̂`` and the dual ``y``.

``critical_epsilon`` computes ``ε*(D) = min_{π ∈ Π_L} f_π(D) / range R`` by a
depth-first branch and bound over product families of deterministic policies
(per state: forced action or free).  A family is closed, without looking at
its members, by one of two exact arguments:

* **regret**: a uniformly pessimal policy of the family (exact policy
  iteration restricted to the family's actions) has return above
  ``J* − L · range J``, so every member has regret ``< L``;
* **dual**: a ``y`` feasible for every member (``y ≥ 0`` on every pair whose
  action the family does not force) with ``y · R`` at least the final
  critical error; weak duality bounds every member's ``f_π`` below by it.

Both arguments are sound for every member at once, so the closed leaves prove
``f_π(D) ≥ ε*(D) · range R`` for every ``π ∈ Π_L``; the incumbent's exact
witness proves the matching upper bound.  By Theorem E, ``D`` is safe for
``ε`` exactly when ``ε < ε*(D)``.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Callable, Sequence

from flint import fmpq

from ..core.errors import ModelError
from ..core.model import MDP, validate_distribution
from ..core.policies import check_deterministic
from ..core.results import Family, Witness
from ..exact.duplicates import duplicate_actions
from ..exact.evaluation import Progress, ReturnBounds, policy_iteration
from ..exact.familylp import FamilyLP, LPState
from ..exact.linalg import (
    bellman_solve,
    dynamics,
    to_fmpq,
    to_fraction,
    to_fractions_sized,
)
from ..guidance.floatvi import return_bounds
from .occupancy import FamilyOccupancy, OccupancyBounds, occupancy_bounds
from .policy_error import witness_reward
from .results import Closure, SearchStats, ThresholdResult

if TYPE_CHECKING:
    from ..guidance.floatlp import FloatState


NODE_OCCUPANCY_DEPTHS = frozenset((4, 8))
"""The depths at which a family's regret-aware bound first lowers ``H`` for the family's own members
(format §3.7a; ``symbolic/search/occupancy.py``'s ``FamilyOccupancy``); the subtree inherits it."""


@dataclass
class _Horizon:
    """The ``H(s)`` in force in a subtree: ``values`` (fmpq), lowered at ``family`` by ``vectors``
    (format §3.7a) from the bounds ``above`` (None: the global ones); ``policies``: the float
    maximisers, a warm start for subfamilies."""

    values: list
    family: tuple
    vectors: dict
    policies: object
    above: "_Horizon | None"


MAX_CLOSURE_BYTES = 4 * 2 ** 30
"""The search stops (like a time-out, keeping its interval) once the closures it keeps for the
certificate are estimated to hold this much memory: a 64-state model's duals have 256 entries of
hundreds of digits, about 70 KB a closure (1.6 GB after 600 s on the 8x8 lake)."""

FINISH_SECONDS = 2.0

FINISH_FRACTION = 0.1
"""A stopped search then spends up to max(FINISH_SECONDS, FINISH_FRACTION × its time budget) on the
regret-aware bounds of the families it left open (before, they were cut short at once)."""

POLISH_SECONDS = 2.0

POLISH_FRACTION = 0.05
"""Each new incumbent (a seed, or a leaf that beats the incumbent) gets a float local search for a
better one (``symbolic/guidance/incumbent.py``) of at most min(POLISH_SECONDS, POLISH_FRACTION × the time
left); what it proposes is verified exactly.  On the 4x4 lake at L = 3/4 it turns the MILP's
10-second policy (eps 0.00775) into one at 0.00568 in 0.4 s (the optimum is 0.00554)."""


def polish_seconds(left: float | None) -> float:
    """The local search's budget with ``left`` seconds of the search's budget left (None: none)."""
    return POLISH_SECONDS if left is None else min(POLISH_SECONDS, POLISH_FRACTION * max(0.0, left))


ZERO_Q = fmpq(0)

FIXED_TOP_LEVELS = 0
"""How many levels dynamic branching splits in the fixed order first.  Near the root the family LPs
are degenerate (with every state free, y = 0 is the only feasible point), so 2 looked natural; it
was measured and is not better overall (docs/engine.md §2), so every level is dynamic."""

REGRET_TRIAL = 200

REGRET_MIN_SUCCESS = 0.01
"""The in-search regret-aware bound is tried at ``REGRET_TRIAL`` nodes first, and then only while at
least ``REGRET_MIN_SUCCESS`` of its tries have closed a family: on random 12×4 MDPs it closes nothing
and costs 10–20 %, on the 8×8 lake it closed 2 of 1,168 at half the nodes per second; on the 4×4
grid models it closes 5–15 % of the families it is tried on.  Each new incumbent starts the trial
again: on the 4x4 lake at L = 3/4 a poor first incumbent switched it off for good, and the search
needed 322,025 nodes instead of about 204,000.  Only speed depends on this; every closure is exact
either way."""


def _family_size(enabled: Sequence[Sequence[int]], family: Sequence[int | None]) -> int:
    """How many deterministic policies ``family`` holds (``enabled``: each state's allowed actions)."""
    size = 1
    for s, a in enumerate(family):
        if a is None:
            size *= len(enabled[s])
    return size


def _lower_end(leaves: Sequence[Closure], value: Fraction | None, range_r: Fraction) -> Fraction:
    """The certified lower end of a stopped search: the weakest bound among its dual-type leaves
    (closed ones count too: in a decided search they are only known to exceed ε·range R; otherwise
    they are at least the final incumbent and change nothing), or the incumbent's error."""
    lows = [c.bound / range_r for c in leaves if c.kind != "regret"] + ([value] if value is not None else [])
    return min(lows) if lows else Fraction(0)


class _Budget(Exception):
    pass


class _Closed(Exception):
    """A subtree's root family closed by regret before any LP."""


def _branch_order(mdp: MDP, bounds: ReturnBounds) -> tuple[int, ...]:
    """Branch first on the states the optimal and pessimal policies visit most:
    forcing them early lets the family duals use the pairs that matter."""
    from ..exact.evaluation import state_occupancy
    weight = [a + b for a, b in zip(state_occupancy(mdp, bounds.optimal_policy),
                                    state_occupancy(mdp, bounds.pessimal_policy))]
    return tuple(sorted(range(mdp.n_states), key=lambda s: (-weight[s], s)))


def critical_epsilon(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, *,
                     bounds: ReturnBounds | None = None, progress: Progress | None = None,
                     max_seconds: float | None = None, max_nodes: int | None = None,
                     stop_below: Fraction | None = None, stop=None,
                     should_stop: Callable[[], bool] | None = None,
                     seed_policies: Sequence[Sequence[int]] = (),
                     regret_aware: bool = True,
                     decide_epsilon: Fraction | None = None,
                     root: Sequence[int | None] | None = None,
                     branch_order: Sequence[int] | None = None,
                     incumbent_bound: Fraction | None = None,
                     finish_seconds: float | None = None,
                     occupancy: OccupancyBounds | None = None,
                     branching: str = "dynamic",
                     max_closure_bytes: int | None = MAX_CLOSURE_BYTES,
                     refine: bool = False, merge_duplicates: bool = True,
                     polish_incumbents: bool = True,
                     family_occupancy: bool = True) -> ThresholdResult:
    """Exact ``ε*(D)`` by branch and bound, with the closures that certify it.

    ``stop``: a callable polled with the budget; once it returns true the search ends as if
    ``max_seconds`` had run out (an interrupt keeps the interval known so far).

    ``stop_below``: stop as soon as a witness with normalised error ``≤ stop_below``
    is found (it decides "unsafe at that ε" early); the result is then incomplete.
    ``should_stop``: polled at every node (e.g. set by Ctrl-C); stopping then works
    like a time-out, and the result brackets ``ε*(D)``.
    ``seed_policies``: candidate minimisers from elsewhere (e.g. the floating MILP's
    policy); each one whose exact return is ``≤ thr`` (regret ``≥ L``) is solved
    exactly and may become the first incumbent, so pruning starts at once.  A
    candidate only ever tightens a verified upper bound; the tree still proves the
    lower one.
    ``regret_aware``: also try the regret-aware family bound before splitting a
    family (on by default).  It prunes families the plain dual cannot, at one more LP per node,
    warm-started from the parent's: on random 12×4 MDPs it costs 5–10 %, on the slippery
    FrozenLake-style 4×4 it halves the tree (docs/engine.md §2).  The families a budget leaves
    open always get it, which is what lifts a stopped search's lower end above 0.
    ``decide_epsilon``: decide "safe at ε" or "unsafe at ε" only, without computing
    ``ε*(D)``: families close as soon as a bound exceeds ``ε · range R`` (plain or
    regret-aware, the latter tried at every node), and a witness at or below it
    stops the search.  The result is then incomplete, with an interval that decides ε.

    A *subtree* (what ``symbolic/search/parallel.py`` hands to a worker): ``root`` is a family that
    fixes exactly the first ``k`` states of ``branch_order`` (the same order for every subtree,
    so their closures nest into one certificate tree), and the search covers its members only.
    ``incumbent_bound`` is an exact ``f_π(D)`` (not normalised) of a verified member of ``Π_L``
    found elsewhere: families close against it, and the result's witness is only one that beats it.
    ``finish_seconds``: the time a stopped search may spend on its open families' regret-aware
    bounds (default ``max(FINISH_SECONDS, FINISH_FRACTION · max_seconds)``).
    ``refine``: a stopped search spends what is left of its finishing budget splitting its weakest
    open family again and again (best first), which raises the certified lower end; it may even
    close the gap and complete the search.
    ``max_closure_bytes``: the search keeps every closure for its certificate; once their
    estimated memory passes this, it stops like a time-out (``stop_reason == "memory"``).
    ``occupancy``: the per-state occupancy bounds ``H(s)`` the regret-aware bound uses
    (``symbolic/search/occupancy.py``; computed on first use when not given).
    ``family_occupancy``: at the depths ``NODE_OCCUPANCY_DEPTHS``, lower ``H`` for the family's own
    members before its regret-aware bound (format §3.7a); the subtree inherits it.
    ``merge_duplicates``: search the reduced policies only, which pick no action that duplicates
    an earlier one of its state (``symbolic/exact/duplicates.py``, format §3.8); every other policy has
    a reduced one with the same return and the same ``f_π(D)``.
    ``polish_incumbents``: from each seed of ``Π_L`` and each leaf that lowers the incumbent, a
    float local search proposes a better member (``symbolic/guidance/incumbent.py``), which becomes the
    incumbent only once verified exactly (``POLISH_SECONDS``).
    """
    from ..guidance.floatlp import (  # numpy: not at start-up
        REDUCED_COST_TOL,
        TIE,
        FloatFamilyLP,
        FloatPessimal,
        to_float,
    )
    from ..guidance.incumbent import LocalSearch
    if stop is not None:          # ``stop`` (the CLI's interrupts) and ``should_stop`` are one mechanism
        should_stop = stop if should_stop is None else (lambda a=stop, b=should_stop: a() or b())
    data = validate_distribution(mdp, data)
    if not (0 < regret_bound <= 1):
        raise ModelError(f"the regret bound L must satisfy 0 < L <= 1, got {regret_bound}", entry="regret")
    started = time.monotonic()
    bounds = bounds or return_bounds(mdp)
    n, m = mdp.n_states, mdp.n_actions
    if bounds.degenerate:
        stats = SearchStats(0, 0, 0, 0, 0, 0, time.monotonic() - started)
        return ThresholdResult(None, None, (), bounds, stats)

    dyn = dynamics(mdp)
    reward = [to_fmpq(r) for r in mdp.reward]
    lp = FamilyLP(dyn, reward, [to_fmpq(d) for d in data])
    threshold = to_fmpq(bounds.regret_threshold(regret_bound))
    range_r = mdp.range_reward
    order = tuple(branch_order) if branch_order is not None else _branch_order(mdp, bounds)
    if branching not in ("fixed", "dynamic"):
        raise ValueError(f"branching must be 'fixed' or 'dynamic', got {branching!r}")
    if sorted(order) != list(range(n)):
        raise ValueError(f"branch_order must be a permutation of the {n} states")
    root = [None] * n if root is None else list(root)
    depth0 = sum(a is not None for a in root)
    if len(root) != n or any(root[s] is None for s in order[:depth0]):
        raise ValueError("root must fix exactly the first states of the branch order")
    mu0 = dyn.mu0
    # Families range over enabled actions only (disabled pairs are inert: D = 0 there, so y = 0),
    # and over the reduced policies only: a duplicate action is covered by its twin (format §3.8).
    duplicates = duplicate_actions(mdp, data, merge=merge_duplicates)
    enabled = duplicates.actions
    if any(a is not None and a not in enabled[s] for s, a in enumerate(root)):
        raise ValueError("root must fix only actions of the reduced policies")
    total = _family_size(enabled, root)
    reduced_pessimal = duplicates.reduce(bounds.pessimal_policy)   # uniformly pessimal still: same Q-values

    closures: list[Closure] = []
    incumbent: list = [None, None]      # [value (fmpq), (policy, LPState)]
    if incumbent_bound is not None:
        incumbent[0] = to_fmpq(Fraction(incumbent_bound))
    stop_value = to_fmpq(stop_below * range_r) if stop_below is not None else None
    decide_value = to_fmpq(decide_epsilon * range_r) if decide_epsilon is not None else None
    if decide_value is not None and (stop_value is None or decide_value < stop_value):
        stop_value = decide_value
    counters = {"nodes": 0, "regret": 0, "dual": 0, "leaves": 0, "lps": 0, "pivots": 0, "regret_dual": 0,
                "regret_tries": 0, "vertices": 0, "exact": 0}
    trial = {"tries": 0, "closed": 0}     # the regret-aware bound's trial since the incumbent last fell
    data_q = lp.upper
    covered = [0]
    open_leaves: list[tuple[Family, LPState, Sequence[int]]] = []   # left unexplored: family, LP, pessimal

    def report(size: int) -> None:
        covered[0] += size
        if progress:
            progress(covered[0], total)

    held = [0]                       # estimated bytes of the closures kept
    stop_reason: list = [None]

    def keep(values) -> tuple:
        values, size = to_fractions_sized(values)
        held[0] += size
        return values

    def check_budget() -> None:
        if max_closure_bytes is not None and held[0] > max_closure_bytes:
            stop_reason[0] = "memory"
            raise _Budget
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            raise _Budget
        if max_nodes is not None and counters["nodes"] >= max_nodes:
            raise _Budget
        if should_stop is not None and should_stop():
            raise _Budget

    def out_of_time() -> bool:
        # Polled inside the exact LPs: an interrupted LP still holds a feasible dual (a valid bound).
        return (max_seconds is not None and time.monotonic() - started > max_seconds) or \
            (should_stop is not None and should_stop())

    def pessimal(family: list[int | None], start: Sequence[int]):
        allowed = [enabled[s] if a is None else (a,) for s, a in enumerate(family)]
        policy, values = policy_iteration(mdp, reward, maximise=False, allowed=allowed, start=start)
        return policy, values, sum((p * v for p, v in zip(mu0, values) if p), fmpq(0))

    flp = FloatFamilyLP(lp)      # pivots in floats; every closure is rebuilt and checked exactly

    def member_of(family) -> list[int]:
        """One member of ``family``: its fixed actions, the reduced pessimal policy's elsewhere."""
        return [a if a is not None else p for a, p in zip(family, reduced_pessimal)]

    def exact_vertex(state: FloatState) -> LPState | None:
        """The float basis's vertex, rebuilt exactly (cached); None if it is not exactly feasible."""
        if state.exact is None:
            named = None if state.failed else flp.bounds(state)
            vertex = None if named is None else lp.vertex(state.basis.tolist(), *named, state.lower, state.rhs)
            counters["vertices"] += 1
            state.exact = vertex if vertex is not None else False
        return state.exact or None

    def exact_start(state: FloatState, family, t=None) -> LPState:
        """A feasible exact state for ``state``'s LP: its exact vertex, else a start that is feasible
        by construction (``y = 0``; for the regret-aware LP ``t·η`` of a member, on its columns)."""
        vertex = exact_vertex(state)
        if vertex is not None:
            return vertex.copy()
        member = member_of(family)
        if state.rhs is None:
            return lp.initial_state(member)
        occupancy = bellman_solve(dyn, member, dyn.mu0, transpose=True)
        start = [ZERO_Q] * (n * m)
        for s_, a in enumerate(member):
            start[s_ * m + a] = t * occupancy[s_]
        return lp.initial_state(member, start)

    def exact_solve(state: FloatState, family, t=None, **options) -> LPState:
        exact = lp.solve(exact_start(state, family, t), state.lower, **options)
        counters["exact"] += 1
        counters["pivots"] += exact.pivots
        return exact

    def prove(state: FloatState, family, target: fmpq, strict: bool = False, t=None,
              should_stop=None) -> LPState | None:
        """An exact feasible vertex of ``state``'s LP whose value reaches ``target`` (exceeds it, if
        ``strict``), or None.  The floats only say where to look: a value clearly below the target
        is not rebuilt (the family is split, which is always sound); otherwise the exact vertex
        decides, and if the floats overrated it the exact simplex carries on from it.  Where the
        floats failed, None: a split is always sound."""
        reaches = (lambda v: v > target) if strict else (lambda v: v >= target)
        if not state.failed and state.value < to_float(target) - flp.margin:
            return None
        vertex = exact_vertex(state)
        if vertex is not None and reaches(vertex.objective):
            return vertex
        if state.failed or vertex is None:
            # The floats gave up or went wrong: split the family rather than run the exact simplex
            # from nothing (at 64 states that took minutes); its children get fresh float LPs.
            return None
        exact = exact_solve(state, family, t, stop_at=target, strict=strict,
                            should_stop=should_stop or out_of_time)
        state.exact = exact
        return exact if reaches(exact.objective) else None

    def exact_optimum(state: FloatState, family, should_stop=None) -> LPState:
        """The exact optimum of a single policy's LP from the float basis (``optimal`` False if the
        budget cut it short); pricing every pair exactly confirms the floats' answer."""
        exact = exact_solve(state, family, should_stop=should_stop or out_of_time)
        state.exact = exact
        return exact

    def float_solve(state: FloatState, target) -> FloatState:
        """Pivot ``state`` in floats (until it passes ``target``, if given); a solve that gives up
        restarts from HiGHS's basis (``FloatFamilyLP.rescue``)."""
        flp.solve(state, None if target is None else to_float(target))
        if state.failed:
            state = flp.rescue(state)
        counters["lps"] += 1
        counters["pivots"] += state.pivots
        return state

    def bound(family: list[int | None], parent: FloatState | None, basis_policy: Sequence[int]) -> FloatState:
        """The family LP in floats, warm-started from the parent's (a child only relaxes its bounds)."""
        lower, flower = lp.lower_bounds(family), flp.family_lower(family)
        state = flp.bind(parent.copy(), lower, flower=flower) if parent is not None and not parent.failed else \
            flp.start([s_ * m + a for s_, a in enumerate(basis_policy)], lower, flower=flower)
        return float_solve(state, decide_value if decide_value is not None else incumbent[0])

    occupancy_cell = [occupancy, None]       # the bounds, and their H(s) as fmpq, both computed on first use

    def horizons() -> list:
        """H(s) ≥ d^π(s) for every policy (format §3.7), certified when the certificate is built."""
        if occupancy_cell[1] is None:
            if occupancy_cell[0] is None:
                occupancy_cell[0] = occupancy_bounds(mdp)
            occupancy_cell[1] = [to_fmpq(h) for h in occupancy_cell[0].horizon]
        return occupancy_cell[1]

    node_bounds: dict = {}            # family -> {s: U_s}: §3.7a bounds that a closure below used
    pairs_of = [[x for x in range(s_ * m, s_ * m + m) if mdp.is_enabled(x)] for s_ in range(n)]
    family_cell: list = [None]        # the FamilyOccupancy, built on first use

    def family_horizon(family, depth: int | None, above: _Horizon | None) -> _Horizon | None:
        """The ``H`` in force for ``family``: lowered for its members at ``NODE_OCCUPANCY_DEPTHS``
        (or at any depth, if None; certified, format §3.7a), else inherited (None: the global one)."""
        if not family_occupancy or (depth is not None and depth not in NODE_OCCUPANCY_DEPTHS):
            return above
        if family_cell[0] is None:
            family_cell[0] = FamilyOccupancy(mdp, enabled)
        base = horizons() if above is None else above.values
        refined = family_cell[0].refine(family, [to_fraction(h) for h in base],
                                        None if above is None else above.policies)
        if refined is None or not refined[1]:
            return above
        values, vectors, policies = refined
        return _Horizon([to_fmpq(h) for h in values], tuple(family), vectors, policies, above)

    def mark_used(horizon: _Horizon | None, family, proven) -> None:
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
        t, w = proven[1], lp.dual(proven[2])
        base = horizons()
        for s_, a in enumerate(family):
            taken = pairs_of[s_] if a is None else [x for x in pairs_of[s_] if x % m == a]
            slack = min((w[x] + data_q[x] for x in taken), default=None)     # t·H(s) may be up to this
            if slack is None or t * base[s_] <= slack:
                continue
            level = next((level for level in chain if t * level.values[s_] <= slack), None)
            if level is None or s_ not in level.vectors:
                # Cannot happen (the closure satisfies the deepest level, and the first level that
                # suffices is one that lowered H(s)); if it did, keep every vector of every level.
                for level in chain:
                    node_bounds.setdefault(level.family, {}).update(level.vectors)
                return
            node_bounds.setdefault(level.family, {})[s_] = level.vectors[s_]

    def regret_dual(family, stop_at=None, parent=None, horizon: _Horizon | None = None):
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
        horizon = horizons() if horizon is None else horizon.values
        usable = parent is not None and not parent[1].failed
        if usable and parent[4] is horizon and family[parent[3] // m] in (None, parent[3] % m):
            t, pair = parent[0], parent[3]
            lower, flower = list(parent[1].lower), parent[1].flower.copy()
            fixed = [s_ for s_, (a, was) in enumerate(zip(family, parent[2])) if a is not None and was is None]
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
            lower, flower = [ZERO_Q] * lp.width, None
            fixed = [s_ for s_, a in enumerate(family) if a is not None]
        for s_ in fixed:
            x = s_ * m + family[s_]
            if mdp.is_enabled(x):
                lower[x] = t * horizon[s_] - data_q[x]
                if flower is not None:
                    flower[x] = to_float(lower[x])
        if usable and parent[0] == t:
            state = flp.bind(parent[1].copy(), lower, parent[1].rhs, flower)   # the same t: the same t·μ0
        else:
            member = member_of(family)
            state = flp.start([s_ * m + a for s_, a in enumerate(member)], lower, rhs=[t * p for p in mu0])
        return t, float_solve(state, None if stop_at is None else stop_at + t * threshold), tuple(family), pair, horizon

    def regret_exact(found, target=None, strict=False, should_stop=None):
        """``found`` (``regret_dual``'s) made exact: ``(w·R − t·thr, t, exact LP state)`` if its exact
        value reaches ``target`` (any value, if None); else None."""
        t, state, family = found[:3]
        offset = t * threshold
        if target is None:
            exact = exact_vertex(state) or exact_solve(state, family, t, should_stop=should_stop or out_of_time)
        else:
            exact = prove(state, family, target + offset, strict, t, should_stop)
            if exact is None:
                return None
        return exact.objective - offset, t, exact

    def regret_closure(family, proven) -> Closure:
        value, t, exact = proven
        return Closure(tuple(family), "regret-dual", bound=to_fraction(value), t=to_fraction(t),
                       w=keep(lp.dual(exact)))

    def dual_closure(family, state: LPState) -> Closure:
        return Closure(tuple(family), "dual", dual=keep(lp.dual(state)), bound=to_fraction(state.objective))

    def close_dual(family, state: LPState) -> None:
        counters["dual"] += 1
        closures.append(dual_closure(family, state))

    def close_regret(family, policy, values, j_min) -> None:
        counters["regret"] += 1
        closures.append(Closure(tuple(family), "regret", policy=policy, values=keep(values),
                                bound=to_fraction(j_min)))
        report(_family_size(enabled, family))

    def take_leaf(family, state: LPState) -> None:
        """A single policy of Π_L whose LP ran to optimality: its exact f_π may lower the incumbent,
        and then the float local search looks for a better one near it."""
        counters["leaves"] += 1
        if incumbent[0] is None or state.objective < incumbent[0]:
            lower_incumbent(state.objective, (tuple(family), state))
            polish(tuple(family))
        close_dual(family, state)

    def try_incumbent(candidate: tuple[int, ...]) -> bool:
        """Verify a proposed member of Π_L exactly (its exact return ≤ thr, its exact f_π) and make it
        the incumbent if it beats the current one; False if it is not a member."""
        values = bellman_solve(dyn, candidate, [reward[s_ * m + a] for s_, a in enumerate(candidate)])
        if sum((p * v for p, v in zip(mu0, values) if p), fmpq(0)) > threshold:
            return False        # regret < L: not a member of Π_L, so it bounds nothing
        exact = exact_optimum(bound(list(candidate), None, candidate), candidate, should_stop=lambda: False)
        if incumbent[0] is None or exact.objective < incumbent[0]:
            lower_incumbent(exact.objective, (candidate, exact))
        return True

    def lower_incumbent(value, found) -> None:
        """A better incumbent, which also starts a new trial of the regret-aware bound: it closes
        more against a lower incumbent, so an early verdict "it closes nothing here" is stale."""
        incumbent[0], incumbent[1] = value, found
        trial["tries"] = trial["closed"] = 0

    def polish(policy: tuple[int, ...]) -> None:
        """The float local search from a verified member (``symbolic/guidance/incumbent.py``); what it proposes
        is verified exactly before it may become the incumbent."""
        if local_search is None or stop_value is not None and incumbent[1] is not None and \
                incumbent[0] <= stop_value:
            return              # nothing to polish for: the incumbent already decides "unsafe at ε"
        left = None if max_seconds is None else max_seconds - (time.monotonic() - started)
        proposal = local_search.improve(policy, deadline=time.monotonic() + polish_seconds(left))
        if proposal != policy:
            try_incumbent(proposal)

    float_pessimal = FloatPessimal(dyn, reward, enabled)
    threshold_f = to_float(threshold)
    local_search = LocalSearch(flp, float_pessimal, enabled, threshold) if polish_incumbents else None

    def split_children(family, s: int, pess_policy) -> list:
        """The children of ``family`` split on ``s`` that pass the regret test, as ``(action, child,
        a pessimal member)``; the others are recorded as regret closures.  ``pess_policy``: a member
        of ``family`` that the floats found pessimal, with return below ``thr``.  A child holding a
        member whose float return is clearly below ``thr`` is kept without an exact solve (its
        member then has regret ``≥ L``, so no regret closure is possible); any other child gets
        exact policy iteration, and so does every single policy, which is a leaf."""
        out = []
        for a in enabled[s]:
            counters["nodes"] += 1
            child = list(family)
            child[s] = a
            start = list(pess_policy)
            start[s] = a
            if None in child:
                if pess_policy[s] == a:
                    # The parent's member is a member of this child too.
                    out.append((a, child, pess_policy))
                    continue
                if float_pessimal.evaluate(start) < threshold_f - float_pessimal.margin:
                    out.append((a, child, tuple(start)))     # a member of regret >= L, by its float return
                    continue
                proposal, j_float = float_pessimal.pessimal(child, start)
                if j_float < threshold_f - float_pessimal.margin:
                    out.append((a, child, proposal))
                    continue
                start = list(proposal)
            child_pess, values, j_min = pessimal(child, start)
            if j_min > threshold:
                close_regret(child, child_pess, values, j_min)
                continue
            out.append((a, child, child_pess))
        return out

    splits: dict = {}        # internal node (family) -> the state it splits on

    data_f = flp.upper

    def round_ties(value: float) -> float:
        """A float LP value with its last digits dropped, so that exact ties stay ties."""
        return float(f"{value:.9e}") if math.isfinite(value) else value

    def choose_state(family, state: FloatState) -> int:
        """Dynamic branching: the free state whose pairs the LP most wants to push below 0, that is
        the largest sum of ``−d(x)·D(x)`` over its pairs at ``y = 0`` with reduced cost ``d(x) < 0``
        (in the child that fixes ``a``, the pair ``(s, a)`` may go down to ``−D``); the first free
        state of the fixed order when no pair wants to (or when the float LP failed, and so says
        nothing).  Read from the float LP: it only shapes the tree."""
        d = None if state.failed else flp.reduced_costs(state)
        y = state.y
        best, chosen, fallback = 0.0, None, None
        for s_free in order:
            if family[s_free] is not None:
                continue
            if fallback is None:
                fallback = s_free
                if d is None:
                    break
            score = 0.0
            for a in enabled[s_free]:
                x = s_free * m + a
                if y[x] == 0 and d[x] < -REDUCED_COST_TOL:
                    score -= d[x] * data_f[x]
            if score > best * (1 + TIE):
                best, chosen = score, s_free
        return chosen if chosen is not None else fallback

    def visit(family: list[int | None], depth: int, state: FloatState, pess_policy, regret_parent=None,
              horizon: _Horizon | None = None) -> None:
        """``family`` passed the regret test; ``state`` is its float LP (possibly stopped early);
        ``regret_parent``: the parent's regret-aware LP (a warm start for this family's);
        ``horizon``: the occupancy bounds in force above it (None: the global ones)."""
        try:
            check_budget()
        except _Budget:
            open_leaves.append((tuple(family), state, pess_policy))
            raise
        size = _family_size(enabled, family)
        exact = None
        if incumbent[0] is not None:
            exact = prove(state, family, incumbent[0])
        if exact is None and decide_value is not None:
            exact = prove(state, family, decide_value, strict=True)
        if exact is not None:
            close_dual(family, exact)
            report(size)
            return
        found = None
        if depth < n and decide_value is not None:
            horizon = family_horizon(family, depth, horizon)
            found = regret_dual(family, stop_at=decide_value, parent=regret_parent, horizon=horizon)
            proven = found and regret_exact(found, decide_value, strict=True)
            if proven:
                counters["regret_dual"] += 1
                mark_used(horizon, family, proven)
                closures.append(regret_closure(family, proven))
                report(size)
                return
        elif depth < n and incumbent[0] is not None and regret_aware and (
                trial["tries"] < REGRET_TRIAL or trial["closed"] >= REGRET_MIN_SUCCESS * trial["tries"]):
            counters["regret_tries"] += 1
            trial["tries"] += 1
            horizon = family_horizon(family, depth, horizon)
            found = regret_dual(family, stop_at=incumbent[0], parent=regret_parent, horizon=horizon)
            proven = found and regret_exact(found, incumbent[0])
            if proven:
                counters["regret_dual"] += 1
                mark_used(horizon, family, proven)
                trial["closed"] += 1
                closures.append(regret_closure(family, proven))
                report(size)
                return
        if depth == n:
            exact = exact_optimum(state, family)
            if not exact.optimal:
                # Its LP was cut short by the budget: its value is only a bound, so it stays open.
                open_leaves.append((tuple(family), state, pess_policy))
                raise _Budget
            # A single policy of Π_L: its exact f_π may lower the incumbent.
            take_leaf(family, exact)
            report(size)
            if stop_value is not None and incumbent[1] is not None and incumbent[0] <= stop_value:
                raise _Budget
            return
        s = order[depth] if branching == "fixed" or depth < FIXED_TOP_LEVELS else choose_state(family, state)
        splits[tuple(family)] = s
        # Bound every surviving child (warm-started from this node), then visit the most promising first.
        children = [(bound(child, state, cp), a, child, cp) for a, child, cp in split_children(family, s, pess_policy)]
        children.sort(key=lambda item: (round_ties(item[0].value), item[1]))
        for index, (child_state, _, child, child_pess) in enumerate(children):
            try:
                visit(child, depth + 1, child_state, child_pess, found, horizon)
            except _Budget:
                open_leaves.extend((tuple(rest), rest_state, rest_pess)
                                   for rest_state, _, rest, rest_pess in children[index + 1:])
                raise

    for candidate in seed_policies:
        candidate = duplicates.reduce(check_deterministic(mdp, candidate))
        if try_incumbent(candidate):
            polish(candidate)

    counters["nodes"] += 1
    complete = True
    try:
        root_pess = reduced_pessimal
        if depth0:
            start = [a if a is not None else p for a, p in zip(root, reduced_pessimal)]
            root_pess, values, j_min = pessimal(root, start)
            if j_min > threshold:
                close_regret(root, root_pess, values, j_min)
                raise _Closed
        root_state = bound(root, None, root_pess)
        if stop_value is not None and incumbent[1] is not None and incumbent[0] <= stop_value:
            open_leaves.append((tuple(root), root_state, root_pess))
            raise _Budget  # a seed already decides "unsafe at that ε"
        visit(root, depth0, root_state, root_pess)
    except _Closed:
        pass
    except _Budget:
        complete = False
    if decide_value is not None:
        complete = False    # ε was decided; ε*(D) itself was not computed

    recorded = splits if branching != "fixed" else None
    stats = SearchStats(counters["nodes"], counters["regret"], counters["dual"], counters["leaves"],
                        counters["lps"], counters["pivots"], time.monotonic() - started,
                        regret_dual_closures=counters["regret_dual"], exact_vertices=counters["vertices"],
                        exact_solves=counters["exact"])

    def incumbent_witness() -> tuple[Fraction | None, Witness | None]:
        """The incumbent's normalised error and exact witness (none for a bound found elsewhere)."""
        if incumbent[1] is None:
            return None, None
        policy, state = incumbent[1]
        value = to_fraction(incumbent[0]) / range_r
        return value, Witness(witness_reward(lp, state, policy, mdp.reward), policy, value)

    def result(value, witness, leaves, **rest) -> ThresholdResult:
        """The answer, with what every outcome carries (the tree's shape, ``H``, duplicates, memory)."""
        return ThresholdResult(value, witness, tuple(leaves), bounds, stats, branch_order=order,
                               occupancy=occupancy_cell[0], splits=recorded, closure_bytes=held[0],
                               node_occupancy=dict(node_bounds),
                               duplicates=duplicates, **rest)

    if complete:
        value, witness = incumbent_witness()
        return result(value, witness, closures, stop_reason=stop_reason[0])
    # Incomplete: ε* lies between the smallest bound still open and the incumbent.
    # The open families' regret-aware bounds are computed now, after the search budget ran out, so
    # they get their own (FINISH_FRACTION of the search's, at least FINISH_SECONDS); an LP cut short
    # by it still holds a feasible w, a valid bound.  A second Ctrl-C interrupts as usual.
    if finish_seconds is None:
        finish_seconds = max(FINISH_SECONDS, FINISH_FRACTION * (max_seconds or 0))
    finish_deadline = time.monotonic() + finish_seconds
    finishing = lambda: time.monotonic() > finish_deadline

    fallback_cell: list = []

    def root_fallback() -> Closure | None:
        """The search root's regret-aware closure (computed once, with a moment beyond the finishing
        budget: a single LP): a family's members are members of the root, so its ``w`` bounds every
        open family, however many there are when the finishing budget runs out."""
        if not fallback_cell:
            # a second, or less where the whole finishing budget is less (a sub-second --timeout)
            grace = time.monotonic() + max(min(1.0, 2 * finish_seconds), 0.1 * finish_seconds)
            found = regret_dual(root, horizon=None)
            proven = found and regret_exact(found, should_stop=lambda: time.monotonic() > grace)
            fallback_cell.append(regret_closure(root, proven) if proven else None)
        return fallback_cell[0]

    def open_closure(family, state: FloatState, parent=None) -> tuple[Closure, tuple | None, tuple | None]:
        """The stronger of the two bounds an open family has (the regret-aware one is computed now),
        with its regret-aware float LP, which warm-starts the children's (``parent``: the parent's),
        and what ``mark_used`` needs for its §3.7a vectors (None if none), applied only if the
        closure is still open at the end: a family split again needs none of its own.
        Both bounds are exact, the plain one from the float basis's exact vertex (or y = 0)."""
        plain = exact_start(state, family)
        if finishing():
            # The finishing budget is spent: the plain bound (one exact vertex, cached), or the search
            # root's regret-aware closure, which holds for every family below the root.
            fallback = root_fallback()
            if fallback is not None and fallback.bound > to_fraction(plain.objective):
                return replace(fallback, family=tuple(family)), None, None
            return dual_closure(family, plain), None, None
        # The family's own H (format §3.7a): an open family's bound is the interval's lower end.
        horizon = family_horizon(family, None, None) if sum(a is not None for a in family) < n else None
        found = regret_dual(family, parent=parent, horizon=horizon)
        proven = found and regret_exact(found, should_stop=finishing)
        if proven and proven[0] > plain.objective:
            return regret_closure(family, proven), found, (horizon, family, proven)
        return dual_closure(family, plain), found, None

    # Best-first refinement while the finishing budget lasts: split the weakest open family once more
    # (children closed by regret drop out).  The splits go into the certificate tree like any other,
    # so the interval stays certified.
    if should_stop is not None and should_stop():
        refine = False                 # an interrupt asked to stop: report, do not keep searching
    queue = []
    for family, state, pess in open_leaves:
        closure, found, marks = open_closure(family, state)
        queue.append((closure.bound, len(queue), family, state, pess, closure, found, marks))
    heapq.heapify(queue)
    ties = len(queue)
    while refine and queue and not finishing():
        _, _, family, state, pess, parent_closure, parent_found, parent_marks = queue[0]
        if all(a is not None for a in family):
            exact = exact_optimum(state, family, should_stop=finishing)
            if not exact.optimal:
                break                  # a single policy whose LP was cut short: nothing left to split
            heapq.heappop(queue)
            take_leaf(family, exact)   # a single policy of Π_L (it passed the regret test), as in visit
            continue
        heapq.heappop(queue)
        split = order[sum(a is not None for a in family)] if branching == "fixed" else choose_state(family, state)
        splits[tuple(family)] = split
        for _, child, child_pess in split_children(family, split, pess):
            child_state = bound(child, state, child_pess)
            own, found, marks = open_closure(tuple(child), child_state, parent_found)
            # The parent's dual (plain or regret-aware) is feasible for every member of a child too,
            # so a child is never bounded below its parent (and then needs the parent's vectors: its
            # pairs are some of the parent's, and the parent's node carries them).
            if own.bound < parent_closure.bound:
                own, marks = replace(parent_closure, family=tuple(child)), parent_marks
            ties += 1
            heapq.heappush(queue, (own.bound, ties, tuple(child), child_state, child_pess, own, found, marks))
    for entry in queue:
        if entry[7] is not None:
            mark_used(*entry[7])
    opened = tuple(entry[5] for entry in sorted(queue, key=lambda e: e[1]))
    value, witness = incumbent_witness()
    if refine and decide_value is None and incumbent[0] is not None and \
            all(c.bound >= to_fraction(incumbent[0]) for c in opened):
        # The refinement closed the gap: every open family is bounded by the incumbent, so each is
        # a closure like any other and the search is complete after all.
        return result(value, witness, tuple(closures) + opened)
    lower = _lower_end(tuple(closures) + opened, value, range_r)
    return result(None, witness, closures, complete=False, open_leaves=opened, lower_bound=lower,
                  upper_bound=value, stop_reason=stop_reason[0])
