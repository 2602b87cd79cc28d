"""The exact branch and bound of ``engine.py`` on a pool of workers, merged into one result.

The search tree splits on the states of one fixed branch order, so the
families that fix the first ``k`` of them (the *prefixes*) are disjoint and
together cover every deterministic policy.  Each prefix is an independent
subtree: ``critical_epsilon(..., root=prefix, branch_order=order)`` searches
it alone.  ``parallel_critical_epsilon`` runs the subtrees on an executor and
merges them:

* every subtree starts from the best exact incumbent known when it is
  submitted (``incumbent_bound``: the seed's, or one a finished subtree
  found), so its families close against a verified ``f_π(D)``;
* the merged incumbent is the least one found; every closure was made
  against an incumbent at least as large, so all of them hold against it,
  exactly as in one serial search;
* the closures of all subtrees nest into one certificate tree, because they
  all use the same branch order; the tree above depth ``k`` is splits only.

Why the merged answer is exact: the prefixes partition the policies, and
each subtree's closures prove, for its members, what a serial search's
closures prove (``docs/engine.md`` §2); the merged incumbent is a verified
member of ``Π_L``.  A stopped run (``max_seconds``, ``stop``,
``subtree_max_nodes``) keeps the
subtrees it finished, the open families of those it cut short, and gives
every prefix it never started an open leaf with its own bounds (computed
here, in the calling process), so the merged interval is certified like a
serial one.

The executor is anything with ``concurrent.futures``' ``submit``: by default
a local process pool of ``jobs`` workers, whose ``stop`` is shared through a
``multiprocessing`` event so that a time-out or Ctrl-C stops running
subtrees at their next node or pivot.  A cluster executor (Dask's
``Client.get_executor()``, Ray's ``concurrent.futures`` adapter) runs the same
tasks; there a running subtree stops at its own deadline (each task carries
the time left when it was submitted), not at once.
"""

from __future__ import annotations

import concurrent.futures as futures
import itertools
import multiprocessing
import signal
import time
from dataclasses import replace
from fractions import Fraction
from typing import Callable, Sequence

from ..core.errors import ModelError
from ..core.model import MDP, validate_distribution
from ..core.parameters import check_regret_bound
from ..core.policies import check_deterministic
from ..core.results import Witness
from ..exact.duplicates import duplicate_actions
from ..exact.evaluation import Progress, ReturnBounds, expected_return
from ..guidance.floatvi import return_bounds
from .engine import critical_epsilon
from .families import family_size, fixed_branch_order, lower_end
from .finish import FINISH_FRACTION, FINISH_SECONDS
from .nodes import polish_seconds
from .occupancy import occupancy_bounds
from .options import MAX_CLOSURE_BYTES
from .policy_error import policy_error
from .results import Closure, SearchStats, ThresholdResult

TASKS_PER_JOB = 8
"""The split depth is the least one giving at least this many prefixes per worker (load balance)."""

_worker_event = None


def _init_worker(event) -> None:
    """Process-pool initializer: Ctrl-C is the parent's business (it stops the workers through
    ``event``), so a worker ignores SIGINT instead of dying with a traceback."""
    global _worker_event
    _worker_event = event
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_should_stop() -> bool:
    return _worker_event is not None and _worker_event.is_set()


def _run_subtree(task: dict) -> ThresholdResult:
    """One subtree, in a worker.  A module-level function so that it pickles."""
    deadline = task["deadline"]
    return critical_epsilon(task["mdp"], task["data"], task["regret_bound"], bounds=task["bounds"],
                            root=task["root"], branch_order=task["order"],
                            incumbent_bound=task["incumbent"], decide_epsilon=task["decide_epsilon"],
                            regret_aware=task["regret_aware"], occupancy=task["occupancy"],
                            max_seconds=None if deadline is None else max(0.0, deadline - time.time()),
                            should_stop=_worker_should_stop, max_closure_bytes=task["max_closure_bytes"],
                            max_nodes=task["max_nodes"], refine=task["refine"], polish_incumbents=task["polish"],
                            family_occupancy=task["family_occupancy"], finish_seconds=task["finish"])


def split_depth(enabled: Sequence[Sequence[int]], order: Sequence[int], jobs: int) -> int:
    """The least depth whose prefixes number at least ``TASKS_PER_JOB · jobs`` (all states at most);
    ``enabled``: the actions each state's split has (the reduced ones, symbolic/exact/duplicates.py)."""
    count, depth = 1, 0
    while depth < len(order) and count < TASKS_PER_JOB * jobs:
        count *= len(enabled[order[depth]])
        depth += 1
    return depth


def prefixes(enabled: Sequence[Sequence[int]], order: Sequence[int], depth: int) -> list[tuple[int | None, ...]]:
    out = []
    for actions in itertools.product(*(enabled[s] for s in order[:depth])):
        family: list[int | None] = [None] * len(enabled)
        for s, a in zip(order, actions):
            family[s] = a
        out.append(tuple(family))
    return out


def parallel_critical_epsilon(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, *, jobs: int = 2,
                              executor: futures.Executor | None = None, bounds: ReturnBounds | None = None,
                              progress: Progress | None = None, max_seconds: float | None = None,
                              stop: Callable[[], bool] | None = None,
                              seed_policies: Sequence[Sequence[int]] = (),
                              decide_epsilon: Fraction | None = None, regret_aware: bool = True,
                              depth: int | None = None, refine: bool = False,
                              polish_incumbents: bool = True,
                              subtree_max_nodes: int | None = None,
                              family_occupancy: bool = True,
                              finish_seconds: float | None = None) -> ThresholdResult:
    """``critical_epsilon`` with its subtrees on ``jobs`` processes (or on ``executor``); the same
    answer, and closures that make one certificate.  ``depth`` overrides the split depth.
    ``polish_incumbents``: as in ``critical_epsilon``, for the seeds here and for each subtree's
    leaves.  ``subtree_max_nodes``: the nodes each subtree may expand before it stops and reports
    its open families (a budget that does not depend on the machine's speed, unlike
    ``max_seconds``).  ``family_occupancy``, ``finish_seconds``: as in ``critical_epsilon`` (the
    finishing budget of each subtree stopped at the deadline, and of the prefixes never started)."""
    if jobs < 1:
        raise ModelError(f"jobs must be at least 1, got {jobs}", entry="jobs")
    data = validate_distribution(mdp, data)
    regret_bound = check_regret_bound(regret_bound)
    started = time.monotonic()
    bounds = bounds or return_bounds(mdp)
    if bounds.degenerate:
        return critical_epsilon(mdp, data, regret_bound, bounds=bounds)
    order = fixed_branch_order(mdp, bounds)
    duplicates = duplicate_actions(mdp, data)      # each subtree computes the same ones
    enabled = duplicates.actions
    depth = split_depth(enabled, order, jobs) if depth is None else depth
    roots = prefixes(enabled, order, depth)
    range_r = mdp.range_reward
    threshold = bounds.regret_threshold(regret_bound)
    deadline = None if max_seconds is None else time.time() + max_seconds
    occupancy = occupancy_bounds(mdp)      # once, so that every subtree's regret-dual leaves use the same H

    # The incumbent: (f_π(D) not normalised, Witness), from the seeds first (one exact LP each).
    best: list = [None, None]

    def consider(candidate) -> bool:
        """Verify a candidate exactly; False if it is not a member of Π_L (regret < L)."""
        candidate = check_deterministic(mdp, candidate)
        if expected_return(mdp, candidate) > threshold:
            return False
        found = policy_error(mdp, data, candidate)
        if best[0] is None or found.value < best[0]:
            best[0], best[1] = found.value, Witness(found.reward_model, found.policy, found.value / range_r)
        return True

    decided = lambda: decide_epsilon is not None and best[0] is not None and best[0] <= decide_epsilon * range_r
    searcher = None
    for candidate in seed_policies:
        if consider(candidate) and polish_incumbents and not decided():    # a decided answer needs no polish
            # The float local search's proposal (symbolic/guidance/incumbent.py), verified like any seed.
            if searcher is None:
                from ..guidance.incumbent import local_search_for
                searcher = local_search_for(mdp, data, threshold, enabled)
            reduced = duplicates.reduce(candidate)
            proposal = searcher.improve(reduced, deadline=time.monotonic() + polish_seconds(max_seconds))
            if proposal != reduced:
                consider(proposal)

    members = {root: family_size(enabled, root) for root in roots}
    total, covered = sum(members.values()), [0]
    results: list[ThresholdResult] = []

    def absorb(result: ThresholdResult, root) -> None:
        results.append(result)
        if result.witness is not None:
            value = result.witness.error * range_r
            if best[0] is None or value < best[0]:
                best[0], best[1] = value, result.witness
        if result.complete:
            covered[0] += members[root]
            if progress:
                progress(covered[0], total)

    def task(root) -> dict:
        return {"mdp": mdp, "data": data, "regret_bound": regret_bound, "bounds": bounds, "root": root,
                "order": order, "incumbent": best[0], "decide_epsilon": decide_epsilon,
                "regret_aware": regret_aware, "deadline": deadline, "occupancy": occupancy, "refine": refine,
                "polish": polish_incumbents, "max_nodes": subtree_max_nodes,
                "family_occupancy": family_occupancy, "finish": finish_seconds,
                # the memory the merged closures may still take, shared by the running subtrees
                "max_closure_bytes": max(0, MAX_CLOSURE_BYTES - held()) // jobs}

    def held() -> int:
        return sum(r.closure_bytes for r in results)

    def stopping() -> bool:
        return (deadline is not None and time.time() > deadline) or (stop is not None and stop()) or decided() \
            or held() >= MAX_CLOSURE_BYTES

    owned = executor is None
    event = None
    if owned:
        # "fork" where there is one: workers start at once and need no ``__main__`` guard in a user's
        # script.  They run only the exact search (FLINT, no threads), never HiGHS, whose thread pool
        # the parent may hold after the MILP seed.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        event = context.Event()
        executor = futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                               initializer=_init_worker, initargs=(event,))
    pending = list(roots)
    running: dict = {}
    try:
        while (pending or running) and not stopping():
            while pending and len(running) < jobs:
                root = pending.pop(0)
                running[executor.submit(_run_subtree, task(root))] = root
            done, _ = futures.wait(running, timeout=0.25, return_when=futures.FIRST_COMPLETED)
            for future in done:
                absorb(future.result(), running.pop(future))
        interrupted = (stop is not None and stop()) or decided() or held() >= MAX_CLOSURE_BYTES
        if event is not None and interrupted:
            event.set()         # running subtrees stop at their next node and report what they know
        # (at the deadline they stop by their own max_seconds, and refine their open families first)
        for future in list(running):
            absorb(future.result(), running.pop(future))
    finally:
        if event is not None:
            event.set()
        if owned:
            executor.shutdown(wait=True, cancel_futures=True)
    # Prefixes never started: open leaves with their bounds, computed here, within one finishing
    # budget for all of them (as a serial search's open families share one).
    if finish_seconds is None:
        finish_seconds = max(FINISH_SECONDS, FINISH_FRACTION * (max_seconds or 0))
    finish_deadline = time.monotonic() + finish_seconds
    for root in pending:
        results.append(critical_epsilon(mdp, data, regret_bound, bounds=bounds, root=root, branch_order=order,
                                        incumbent_bound=best[0], decide_epsilon=decide_epsilon, max_seconds=0,
                                        occupancy=occupancy,
                                        finish_seconds=max(0.0, finish_deadline - time.monotonic())))
    memory = "memory" if any(r.stop_reason == "memory" for r in results) or held() >= MAX_CLOSURE_BYTES else None
    merged = _merge(results, best, order, bounds, range_r, time.monotonic() - started, decide_epsilon is not None)
    return replace(merged, occupancy=occupancy, closure_bytes=held(), duplicates=duplicates,
                   stop_reason=None if merged.complete else memory)


def _merge(results: Sequence[ThresholdResult], best, order, bounds, range_r, seconds: float,
           deciding: bool) -> ThresholdResult:
    closures: list[Closure] = []
    opened: list[Closure] = []
    for result in results:
        closures.extend(result.closures)
        opened.extend(result.open_leaves)
    stats = SearchStats(*(sum(getattr(r.stats, f) for r in results)
                          for f in ("nodes", "regret_closures", "dual_closures", "leaf_policies", "lp_solves",
                                    "pivots")),
                        seconds=seconds,
                        **{f: sum(getattr(r.stats, f) for r in results)
                           for f in ("regret_dual_closures", "exact_vertices", "exact_solves")})
    value = None if best[0] is None else best[0] / range_r    # best[1], the witness, has this error
    witness = best[1]
    complete = all(r.complete for r in results) and not deciding
    splits: dict = {}
    node_occupancy: dict = {}
    for result in results:
        splits.update(result.splits or {})
        for family, vectors in (result.node_occupancy or {}).items():   # subtrees may share none, but union
            node_occupancy.setdefault(family, {}).update(vectors)
    if complete:
        return ThresholdResult(value, witness, tuple(closures), bounds, stats, branch_order=tuple(order),
                               splits=splits, node_occupancy=node_occupancy)
    # As in one search: ε* lies between the least bound not known to be above the incumbent and it.
    lower = lower_end(closures + opened, value, range_r)
    return ThresholdResult(None, witness, tuple(closures), bounds, stats, complete=False,
                           open_leaves=tuple(opened), lower_bound=lower, upper_bound=value,
                           branch_order=tuple(order), splits=splits, node_occupancy=node_occupancy)
