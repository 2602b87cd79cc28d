"""The search's float loops compiled by numba, where numba is installed: when to use them.

The loops themselves are in ``symbolic/guidance/jitkernels.py``, the only module that imports numba; this
module decides whether and when to load them, and without them (``kernel()`` is None) the numpy
loops run.  Why a compiler at all: the family LPs of the search have 16 rows and about 80 columns,
and a solve takes four pivots on average, so the numpy loop spends its time in numpy's call
overhead (about 180 µs a solve on the 4×4 lake, a third of the whole search).  Compiled, the same
loop is plain arithmetic.  So are the refactorisations, ``FloatPessimal``'s policy iteration and
``FamilyOccupancy``'s.

The kernels only guide, like every float in the search: a wrong or failed solve costs time, never
soundness (``symbolic/guidance/floatlp.py``).  The pivot loop follows the numpy loop step for step (the same
pricing, ties, ratio test and bound flips), except that its sums run in a fixed order instead of
BLAS's and its inverses come from Gauss–Jordan instead of LAPACK, so a near tie may break the other
way and the tree's shape may differ slightly.

``REWARDCERT_NO_JIT=1`` in the environment turns the kernels off (for comparisons and benchmarks),
and so does numba's own ``NUMBA_DISABLE_JIT=1``: numba would then run the kernels' Python source
uncompiled, far slower than the numpy loops.
"""

from __future__ import annotations

import os
from typing import Callable, NamedTuple


class Kernels(NamedTuple):
    pivot_loop: Callable       # FloatFamilyLP.solve's loop, refactorising every few pivots itself
    refactor: Callable         # FloatFamilyLP.refactor: B⁻¹ and the basic values afresh
    values: Callable           # FloatPessimal.values: one policy's float values
    pessimal: Callable         # FloatPessimal.pessimal: policy iteration towards the least return
    occupancy: Callable        # FamilyOccupancy.refine: the largest occupancy of every state


def _compile() -> Kernels | None:
    if os.environ.get("REWARDCERT_NO_JIT") == "1" or os.environ.get("NUMBA_DISABLE_JIT") == "1":
        return None
    try:
        from ..guidance import jitkernels
    except Exception:          # numba not installed, or broken: the numpy loops do the work
        return None
    return Kernels(jitkernels.pivot_loop, jitkernels.refactor, jitkernels.values, jitkernels.pessimal,
                   jitkernels.occupancy)


_KERNEL: list = []

MAX_STATES = 64
"""Models with more states keep the numpy loops: the kernels' loops are plain O(n³) Gauss–Jordan and
O(n·|S×A|) pricing, which BLAS and LAPACK beat once ``n`` is large.  At 64 states (the 8x8 lake)
the kernels still visit 8% more families in 30 s than numpy."""


def kernel(n_states: int = 0) -> Kernels | None:
    """The compiled kernels, or None (numba missing or disabled, or a model of more than
    ``MAX_STATES`` states), loaded on the first call.
    Importing numba takes about 0.25 s and loading the kernels from numba's cache about as long
    (compiling them afresh, the first time, a few seconds), so ``FloatFamilyLP`` asks for them only
    once a search has run ``KERNEL_AFTER`` solves: small runs never pay for them."""
    if n_states > MAX_STATES:
        return None
    if not _KERNEL:
        _KERNEL.append(_compile())
    return _KERNEL[0]


def disable() -> None:
    """Use the numpy loops from now on, in this process: a kernel failed (numba could not compile or
    cache it here, say).  The callers then redo that step in numpy; a kernel that fails does so
    when it is compiled, before it has changed anything."""
    _KERNEL[:] = [None]


KERNEL_AFTER = 5000
"""Float solves a ``FloatFamilyLP`` (and calls a ``FloatPessimal``) runs in numpy before it loads the
kernels.  Loading costs about 0.5 s and saves about 0.13 ms a solve, so a search that stops soon
after would lose: at 2,000 the 4x4 gridworld's searches (1,000-2,000 families, about a second)
got slower by the load, while the 4x4 lake's at L = 3/4 (128,000 solves) gains about 25 s."""
