"""Pictures (``rewardcert plot``): the safe region, Figure 4's polygon on the 2-simplex, or a 2-D slice of Δ, and ε*(D) as a heat map.

Both modes draw over a *slice*, the triangle ``u, v ≥ 0, u + v ≤ 1`` mapped
into the data simplex by ``D(u, v) = u·e_X + v·e_Y + (1 − u − v)·rest``, where
``rest`` is a distribution with no mass on ``X`` or ``Y``.  With three pairs
the slice is the whole simplex (``X, Y`` the first two pairs, ``rest = e_3``),
which is the paper's Figure 4 (right): ``d1 = u``, ``d2 = v``,
``d3 = 1 − d1 − d2``.  Otherwise ``rest`` is the base distribution with its
``X`` and ``Y`` entries removed and renormalised, so ``D(X) = u``, ``D(Y) = v``
and the base itself sits at ``(base(X), base(Y))``.

On a slice each row ``m`` of M is affine in ``(u, v)``:
``m·D = (m_X − r)u + (m_Y − r)v + r`` with ``r = m·rest``.  So the safe set
``{M D > ε · range R}`` is a convex polygon, computed exactly by clipping the
triangle with each half-plane over the rationals (Sutherland–Hodgman).  The
polygon is the *closure* of the safe set: its points on the line of a row
satisfy that row with equality and are unsafe (Theorem 3.5's inequality is
strict); the rest of it, edges along the triangle included, is safe.  Floats
appear only when drawing.  Without M (too large to build) each grid point's
``ε*(D)`` comes from the exact engine instead and there is no exact polygon.
"""

from .draw import describe_vertices
from .geometry import (
                       ENGINE_SECONDS,
                       TRIANGLE,
                       PlotResult,
                       Slice,
                       area,
                       clip,
                       data_slice,
                       pair_text,
                       parse_pair,
                       safe_polygon,
                       simplex_slice,
)
from .region import plot_safe_region

__all__ = ["ENGINE_SECONDS", "TRIANGLE", "PlotResult", "Slice", "area", "clip", "data_slice", "describe_vertices",
           "pair_text", "parse_pair", "plot_safe_region", "safe_polygon", "simplex_slice"]
