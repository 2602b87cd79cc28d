"""What the float pivot loop returns first, shared by ``floatjit`` and the kernels."""

from __future__ import annotations

OPTIMAL, AT_TARGET, GAVE_UP, SINGULAR = 0, 1, 2, 3
"""What the pivot loop returns first (then the pivots, the pivots since the last refactorisation,
and the value): its state is optimal; its value reached the target; it used up its pivots; a
refactorisation met a singular basis (the last two: failed)."""
