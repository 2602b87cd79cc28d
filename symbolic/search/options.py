"""What a λ = 0 search is asked to do: ``SearchOptions``, the knobs of ``critical_epsilon`` in one object.

The fields come in groups: the budgets that stop a search (it then keeps a certified interval),
the question asked (``ε*(D)``, or only a verdict at one ``ε``), the subtree a worker searches, what
the search may start from, and how it searches.  The last group changes only speed: every closure
is exact whatever it says (``docs/engine.md`` §2).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:
    from ..exact.evaluation import Progress, ReturnBounds
    from .occupancy import OccupancyBounds


MAX_CLOSURE_BYTES = 4 * 2 ** 30
"""The search stops (like a time-out, keeping its interval) once the closures it keeps for the
certificate are estimated to hold this much memory: a 64-state model's duals have 256 entries of
hundreds of digits, about 70 KB a closure (1.6 GB after 600 s on the 8x8 lake)."""


@dataclass(frozen=True)
class SearchOptions:
    """The knobs of one branch and bound (``BranchAndBound``, ``critical_epsilon``).  The defaults
    ask for ``ε*(D)`` over every policy, with no budget but the closures' memory."""

    # -- Budgets: a search that runs out of one stops and brackets ε*(D) (or decides ε) --------------
    max_seconds: float | None = None
    """The search's time budget (None: none).  The exact simplex polls it before every pivot."""
    max_nodes: int | None = None
    """The nodes the search may expand (a budget that does not depend on the machine's speed)."""
    max_closure_bytes: int | None = MAX_CLOSURE_BYTES
    """The search keeps every closure for its certificate; once their estimated memory passes this,
    it stops like a time-out (``stop_reason == "memory"``)."""
    should_stop: Callable[[], bool] | None = None
    """Polled at every node and inside the exact LPs (e.g. set by Ctrl-C); once it returns true the
    search ends as if ``max_seconds`` had run out (an interrupt keeps the interval known so far).
    ``critical_epsilon``'s ``stop`` keyword (the CLI's interrupts) is folded into it."""
    finish_seconds: float | None = None
    """The time a stopped search may spend on its open families' regret-aware bounds (None:
    ``max(FINISH_SECONDS, FINISH_FRACTION · max_seconds)``, ``finish.py``)."""
    refine: bool = False
    """A stopped search spends what is left of its finishing budget splitting its weakest open
    family again and again (best first), which raises the certified lower end; it may even close
    the gap and complete the search."""

    # -- The question ----------------------------------------------------------------------------------
    stop_below: Fraction | None = None
    """Stop as soon as a witness with normalised error ``≤ stop_below`` is found (it decides "unsafe
    at that ε" early); the result is then incomplete."""
    decide_epsilon: Fraction | None = None
    """Decide "safe at ε" or "unsafe at ε" only, without computing ``ε*(D)``: families close as soon
    as a bound exceeds ``ε · range R`` (plain or regret-aware, the latter tried at every node), and
    a witness at or below it stops the search.  The result is then incomplete, with an interval that
    decides ε."""

    # -- A subtree (what ``parallel.py`` hands to a worker) -------------------------------------------
    root: Sequence[int | None] | None = None
    """A family that fixes exactly the first ``k`` states of ``branch_order`` (the same order for
    every subtree, so their closures nest into one certificate tree); the search covers its members
    only (None: every policy)."""
    branch_order: Sequence[int] | None = None
    """A permutation of the states: the fixed order (None: ``families.fixed_branch_order``)."""
    incumbent_bound: Fraction | None = None
    """An exact ``f_π(D)`` (not normalised) of a verified member of ``Π_L`` found elsewhere: families
    close against it, and the result's witness is only one that beats it."""

    # -- What the search may start from ----------------------------------------------------------------
    bounds: ReturnBounds | None = None
    """``J*``, ``J^min`` and their policies (computed when not given)."""
    occupancy: OccupancyBounds | None = None
    """The per-state occupancy bounds ``H(s)`` the regret-aware bound uses (``occupancy.py``;
    computed on first use when not given)."""
    seed_policies: Sequence[Sequence[int]] = ()
    """Candidate minimisers from elsewhere (e.g. the floating MILP's policy); each one whose exact
    return is ``≤ thr`` (regret ``≥ L``) is solved exactly and may become the first incumbent, so
    pruning starts at once.  A candidate only ever tightens a verified upper bound; the tree still
    proves the lower one."""

    # -- How it searches (speed and the tree's shape only) ---------------------------------------------
    branching: str = "dynamic"
    """``"dynamic"``: each node splits on the free state its float LP most wants fixed;
    ``"fixed"``: on the states of ``branch_order`` in turn (``docs/engine.md`` §2)."""
    regret_aware: bool = True
    """Also try the regret-aware family bound before splitting a family.  It prunes families the
    plain dual cannot, at one more LP per node, warm-started from the parent's: on random 12×4 MDPs
    it costs 5–10 %, on the slippery FrozenLake-style 4×4 it halves the tree (docs/engine.md §2).
    The families a budget leaves open always get it, which is what lifts a stopped search's lower
    end above 0."""
    family_occupancy: bool = True
    """At the depths ``NODE_OCCUPANCY_DEPTHS`` (``engine.py``), lower ``H`` for the family's own
    members before its regret-aware bound (format §3.7a); the subtree inherits it."""
    merge_duplicates: bool = True
    """Search the reduced policies only, which pick no action that duplicates an earlier one of its
    state (``exact/duplicates.py``, format §3.8); every other policy has a reduced one with the
    same return and the same ``f_π(D)``."""
    polish_incumbents: bool = True
    """From each seed of ``Π_L`` and each leaf that lowers the incumbent, a float local search
    proposes a better member (``guidance/incumbent.py``), which becomes the incumbent only once
    verified exactly (``POLISH_SECONDS``, ``nodes.py``)."""

    # -- Reporting --------------------------------------------------------------------------------------
    progress: Progress | None = None
    """Called with (policies covered, policies in all) whenever a family closes."""
