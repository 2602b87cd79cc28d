"""Pictures of the safe region: Figure 4's polygon on the 2-simplex, or a 2-D slice of Δ, and ε*(D) as a heat map.

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

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from math import comb
from typing import Callable, Sequence

from rewardcert.symbolic.core.errors import (
    BackendUnavailable,
    ModelError,
    ResourceLimit,
)
from rewardcert.symbolic.core.model import (
    MDP,
    Vector,
    uniform_distribution,
    validate_distribution,
)
from rewardcert.symbolic.core.numbers import format_epsilon, format_rational
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.exact.evaluation import MAX_ENUMERATION
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.paper.matrix import SafetyMatrix, safety_matrix
from rewardcert.symbolic.search.engine import critical_epsilon

Point = tuple[Fraction, Fraction]
Progress = Callable[[int, int], None]

INSTALL_HINT = "matplotlib is needed for plots: pip install 'rewardcert[plot]'"
MATRIX_RESOLUTION = 200        # grid steps per side when ε*(D) comes from M (cheap)
ENGINE_RESOLUTION = 8          # ... and when every grid point runs the exact engine
MAX_RESOLUTION = 2000
ENGINE_SECONDS = 2.0           # default time budget of the exact engine per grid point
# M is built for a plot only below these sizes (cf. symbolic.matrix.MAX_BASES): a picture
# should not wait minutes for the enumeration when the engine can sample the slice.
MATRIX_POLICIES_LIMIT = 200_000
MATRIX_BASES_LIMIT = 200_000
LABELLED_ROWS = 16             # more rows than this are drawn without labels


# -- the slice -----------------------------------------------------------------------

@dataclass(frozen=True)
class Slice:
    """``D(u, v) = u·e_x + v·e_y + (1 − u − v)·rest`` on the triangle ``u, v ≥ 0, u + v ≤ 1``."""

    x: int
    y: int
    rest: Vector          # a distribution with rest[x] = rest[y] = 0

    def data(self, u: Fraction, v: Fraction) -> Vector:
        """The exact distribution at ``(u, v)``."""
        w = 1 - u - v
        out = [w * r for r in self.rest]
        out[self.x] += u
        out[self.y] += v
        return tuple(out)

    def coordinates(self, data: Sequence[Fraction]) -> Point | None:
        """``(u, v)`` with ``data(u, v) == data``, or ``None`` when ``data`` is off the slice."""
        u, v = data[self.x], data[self.y]
        return (u, v) if self.data(u, v) == tuple(data) else None

    def half_plane(self, row: Sequence[Fraction], bound: Fraction) -> tuple[Fraction, Fraction, Fraction]:
        """``(a_u, a_v, b)`` with ``row · D(u, v) ≥ bound  ⇔  a_u·u + a_v·v ≥ b``."""
        r = sum((c * p for c, p in zip(row, self.rest) if c and p), Fraction(0))
        return row[self.x] - r, row[self.y] - r, bound - r


def simplex_slice(mdp: MDP) -> Slice:
    """The whole simplex of a 3-pair model: ``d1 = u``, ``d2 = v``, ``d3 = 1 − u − v``."""
    if mdp.n_pairs != 3:
        raise ModelError(f"the simplex view needs exactly 3 state-action pairs, this model has {mdp.n_pairs}; "
                         "choose a 2-D slice with --slice X Y")
    return Slice(0, 1, (Fraction(0), Fraction(0), Fraction(1)))


def data_slice(mdp: MDP, x: int, y: int, base: Sequence[Fraction]) -> Slice:
    """The slice through ``base`` spanned by the pairs ``x`` and ``y`` (module docstring)."""
    base = validate_distribution(mdp, base, name="data")
    if mdp.n_pairs < 3:
        raise ModelError(f"a 2-D slice needs at least 3 state-action pairs, this model has {mdp.n_pairs}")
    for z in (x, y):
        if not mdp.is_enabled(z):
            raise ModelError(f"{pair_text(mdp, z)} is a disabled pair (D is 0 there); choose enabled pairs",
                             entry="--slice")
    if x == y:
        name = pair_text(mdp, x)
        raise ModelError(f"the two slice axes must be different pairs, got {name} twice", entry="--slice")
    remainder = 1 - base[x] - base[y]
    if remainder == 0:
        raise ModelError(f"the base distribution puts all its mass on {pair_text(mdp, x)} and "
                         f"{pair_text(mdp, y)}, so nothing is left to spread over the other pairs; "
                         "pass a --data distribution with mass elsewhere (e.g. --data uniform)",
                         entry="--data")
    rest = tuple(Fraction(0) if z in (x, y) else p / remainder for z, p in enumerate(base))
    return Slice(x, y, rest)


def pair_text(mdp: MDP, x: int) -> str:
    state, action = mdp.pair_name(x)
    return f"{state}:{action}"


def parse_pair(mdp: MDP, text: str) -> int:
    """The pair index of ``state:action`` (names may contain ``:`` as long as one split matches)."""
    matches = []
    for at in (i for i, c in enumerate(text) if c == ":"):
        state, action = text[:at], text[at + 1:]
        if state in mdp.states and action in mdp.actions:
            matches.append(mdp.pair(mdp.states.index(state), mdp.actions.index(action)))
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ModelError(f"{text!r} names more than one state-action pair", entry="--slice")
    if ":" not in text:
        raise ModelError(f"{text!r} is not a pair: write STATE:ACTION, e.g. "
                         f"{pair_text(mdp, 0)}", entry="--slice")
    state, action = text.split(":", 1)
    what = (f"unknown state {state!r} (states: {', '.join(mdp.states)})" if state not in mdp.states
            else f"unknown action {action!r} (actions: {', '.join(mdp.actions)})")
    raise ModelError(f"{text!r}: {what}", entry="--slice")


# -- the exact polygon --------------------------------------------------------------

def clip(polygon: Sequence[Point], a_u: Fraction, a_v: Fraction, b: Fraction) -> tuple[Point, ...]:
    """The convex ``polygon`` cut by ``a_u·u + a_v·v ≥ b`` (one Sutherland–Hodgman pass, exact)."""
    out: list[Point] = []
    n = len(polygon)
    for i in range(n):
        p, q = polygon[i], polygon[(i + 1) % n]
        fp = a_u * p[0] + a_v * p[1] - b
        fq = a_u * q[0] + a_v * q[1] - b
        if fp >= 0:
            out.append(p)
        if (fp > 0 > fq) or (fp < 0 < fq):
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return _tidy(out)


def _tidy(points: Sequence[Point]) -> tuple[Point, ...]:
    """Drop repeated and collinear vertices (a cut through a vertex repeats it)."""
    pts = list(points)
    changed = True
    while changed and len(pts) >= 2:
        changed = False
        for i in range(len(pts)):
            p, q, r = pts[i - 1], pts[i], pts[(i + 1) % len(pts)]
            cross = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
            if q == p or cross == 0:
                del pts[i]
                changed = True
                break
    return tuple(pts)


def area(polygon: Sequence[Point]) -> Fraction:
    """Exact area (shoelace)."""
    n = len(polygon)
    twice = sum((polygon[i][0] * polygon[(i + 1) % n][1] - polygon[(i + 1) % n][0] * polygon[i][1]
                 for i in range(n)), Fraction(0))
    return abs(twice) / 2


TRIANGLE: tuple[Point, ...] = ((Fraction(0), Fraction(0)), (Fraction(1), Fraction(0)), (Fraction(0), Fraction(1)))


def safe_polygon(matrix: SafetyMatrix, plane: Slice, epsilon: Fraction) -> tuple[Point, ...]:
    """Exact vertices (counter-clockwise) of the closure of ``{(u, v) : M D(u, v) > ε · range R}``;
    ``()`` when that set is empty."""
    bound = epsilon * matrix.range_reward
    polygon = TRIANGLE
    strict = True
    for row in matrix.rows:
        a_u, a_v, b = plane.half_plane(row.coefficients, bound)
        if a_u == 0 and a_v == 0 and b >= 0:   # constant row with 0 > b false: nothing is safe
            strict = False
        polygon = clip(polygon, a_u, a_v, b)
        if len(polygon) < 3:
            return ()
    # A 2-D polygon's interior satisfies every non-constant row strictly, so it is the
    # closure of the (open, non-empty) safe set; a degenerate one holds no safe point.
    if not strict or area(polygon) == 0:
        return ()
    start = min(range(len(polygon)), key=lambda i: (polygon[i][1], polygon[i][0]))
    return polygon[start:] + polygon[:start]


# -- the grid -----------------------------------------------------------------------

def lattice(resolution: int) -> list[tuple[int, int]]:
    """Grid points ``(i, j)`` with ``i + j ≤ N``; the point is ``(u, v) = (i/N, j/N)``."""
    return [(i, j) for j in range(resolution + 1) for i in range(resolution + 1 - j)]


def lattice_triangles(resolution: int) -> list[tuple[int, int, int]]:
    index = {p: k for k, p in enumerate(lattice(resolution))}
    out = []
    for (i, j), k in index.items():
        if i + j < resolution:
            out.append((k, index[i + 1, j], index[i, j + 1]))
            if i + j < resolution - 1:
                out.append((index[i + 1, j], index[i + 1, j + 1], index[i, j + 1]))
    return out


@dataclass(frozen=True)
class GridPoint:
    """``ε*(D)`` at one grid point: exact when ``complete``, else a bracket (``None`` = +∞)."""

    u: Fraction
    v: Fraction
    critical_epsilon: Fraction | None
    complete: bool
    verdict: Verdict


# -- the result ---------------------------------------------------------------------

@dataclass(frozen=True)
class PlotResult:
    """What was drawn, for printing and for tests."""

    path: str
    mode: str                                   # "simplex" or "slice"
    method: str                                 # "matrix" (exact polygon) or "engine" (per grid point)
    resolution: int                             # grid steps per side of the triangle
    polygon: tuple[Point, ...] | None           # exact (u, v) vertices; () empty; None without M
    polygon_data: tuple[Vector, ...] | None     # the same vertices as distributions D
    axes: tuple[str, str]                       # pair names on the u and v axes
    marker: Point | None = None                 # (u, v) of the marked distribution
    marker_epsilon: Fraction | None = None      # its ε*(D) (None = +∞ when marker_known)
    marker_known: bool = True                   # False: the engine's time budget left ε*(D) open
    unknown_points: int = 0                     # engine grid points the time budget left open
    note: str = ""                              # why the engine was used, when it was


# -- drawing ------------------------------------------------------------------------

def _matplotlib():
    try:
        from matplotlib import tri
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise BackendUnavailable(INSTALL_HINT) from None
    return Figure, FigureCanvasAgg, tri


def plot_safe_region(mdp: MDP, regret_bound: Fraction, epsilon: Fraction, output: str | os.PathLike, *,
                     data: Vector | None = None, slice_pairs: tuple[int, int] | None = None,
                     resolution: int | None = None, seconds_per_point: float = ENGINE_SECONDS,
                     progress: Progress | None = None, matrix_progress: Progress | None = None,
                     method: str = "auto", stdout=None) -> PlotResult:
    """Draw the safe region at ``ε`` and the heat map of ``ε*(D)`` and write them to ``output``.

    ``slice_pairs is None``: the whole simplex of a 3-pair model, with ``data`` (if any)
    marked.  Otherwise the slice through ``data`` (default uniform) spanned by the two pairs.
    ``method``: ``"auto"`` (M when small enough, else the engine), ``"matrix"`` or ``"engine"``.
    """
    Figure, FigureCanvasAgg, tri = _matplotlib()
    if not (0 < regret_bound <= 1):
        raise ModelError(f"L = {format_rational(regret_bound)} must satisfy 0 < L <= 1", entry="--regret")
    if epsilon <= 0:
        raise ModelError(f"epsilon = {format_rational(epsilon)} must be > 0", entry="--epsilon")
    output = os.fspath(output)
    canvas_formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    extension = "png" if output == "-" else os.path.splitext(output)[1].lower().lstrip(".")
    if extension not in canvas_formats:
        raise ModelError(f"cannot tell the image format from {output!r}: end the name with "
                         ".png (or .svg, .pdf)", entry="-o")
    folder = os.path.dirname(output) or "."
    if output != "-" and not os.path.isdir(folder):
        raise ModelError(f"the folder {folder!r} does not exist (create it first, e.g. mkdir -p {folder})",
                         entry="-o")
    if resolution is not None and not (2 <= resolution <= MAX_RESOLUTION):
        raise ModelError(f"the resolution must be between 2 and {MAX_RESOLUTION}, got {resolution}",
                         entry="--resolution")

    given_data = data is not None
    if slice_pairs is None:
        plane, mode = simplex_slice(mdp), "simplex"
        if data is not None:
            data = validate_distribution(mdp, data, name="data")
    else:
        base = data if data is not None else uniform_distribution(mdp)
        plane, mode = data_slice(mdp, *slice_pairs, base), "slice"
        data = plane.data(base[plane.x], base[plane.y])

    if method not in ("auto", "matrix", "engine"):
        raise ModelError(f"method must be 'auto', 'matrix' or 'engine', got {method!r}")
    bounds = return_bounds(mdp)
    if method == "engine":
        matrix, note = None, "M not used (engine requested); eps*(D) comes from the exact engine at each grid point"
    else:
        matrix, note = _try_matrix(mdp, regret_bound, bounds, matrix_progress)
        if matrix is None and method == "matrix":
            raise ResourceLimit(note.split(";")[0])
    method = "matrix" if matrix is not None else "engine"
    if resolution is None:
        resolution = MATRIX_RESOLUTION if matrix is not None else ENGINE_RESOLUTION
        if matrix is None:
            note += f"; the grid is coarse ({resolution} steps per side, --resolution to change)"

    points = lattice(resolution)
    if matrix is not None:
        polygon = safe_polygon(matrix, plane, epsilon)
        grid = _grid_from_matrix(matrix, plane, points, resolution)
        unknown = 0
    else:
        polygon = None
        grid = _grid_from_engine(mdp, regret_bound, bounds, plane, points, resolution, epsilon,
                                 seconds_per_point, progress)
        unknown = sum(not g.complete for g in grid)

    marker = marker_eps = None
    marker_known = True
    if data is not None:
        marker = plane.coordinates(data)
        if matrix is not None:
            marker_eps = matrix.critical_epsilon(data)
        else:
            found = critical_epsilon(mdp, data, regret_bound, bounds=bounds, max_seconds=seconds_per_point)
            marker_eps, marker_known = found.critical_epsilon, found.complete

    result = PlotResult(
        path=output, mode=mode, method=method, resolution=resolution, polygon=polygon,
        polygon_data=None if polygon is None else tuple(plane.data(u, v) for u, v in polygon),
        axes=(pair_text(mdp, plane.x), pair_text(mdp, plane.y)), marker=marker, marker_epsilon=marker_eps,
        marker_known=marker_known,
        unknown_points=unknown, note=note)

    figure = Figure(figsize=(13, 6.6))
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    labels = _axis_labels(mdp, plane, mode)
    _draw_region(left, tri, mdp, plane, matrix, grid, resolution, epsilon, polygon, result, labels)
    _draw_heat_map(figure, right, tri, plane, grid, resolution, epsilon, polygon, result, labels, matrix)
    eps_text, l_text = format_rational(epsilon), format_rational(regret_bound)
    heading = f"{mdp.name or 'model'}: which data distributions D are safe?   ε = {eps_text}, L = {l_text}"
    if mode == "slice":
        base_name = "the base D (--data)" if given_data else "the uniform D"
        heading += (f"\n2-D slice of Δ: u = {labels[0]}, v = {labels[1]}; "
                    f"the other pairs share 1 − u − v as in {base_name}")
    figure.suptitle(heading, fontsize=13, y=0.995)
    # no layout engine: the titles are placed by hand and savefig's tight box takes in the
    # legends below the axes, whose height depends on how many entries they have
    figure.subplots_adjust(left=0.05, right=0.97, bottom=0.08, top=0.84 if mode == "slice" else 0.87, wspace=0.12)
    import io

    from .output import write_bytes
    picture = io.BytesIO()       # drawn in memory, then written atomically (rewardcert/output.py)
    figure.savefig(picture, format=extension, dpi=110, bbox_inches="tight", pad_inches=0.25)
    write_bytes(output, picture.getvalue(), what="picture", stdout=stdout)
    return result


def _try_matrix(mdp: MDP, regret_bound: Fraction, bounds, progress) -> tuple[SafetyMatrix | None, str]:
    """M when it is small enough to build for a picture, else ``None`` and the reason."""
    policies = mdp.n_deterministic_policies
    bases = comb(mdp.n_enabled_pairs, mdp.n_states)     # safety_matrix uses bases among enabled pairs
    if policies > min(MAX_ENUMERATION, MATRIX_POLICIES_LIMIT):
        return None, (f"M not built ({mdp.n_actions}^{mdp.n_states} = {policies} policies to enumerate); "
                      "eps*(D) comes from the exact engine at each grid point")
    if bases > MATRIX_BASES_LIMIT:
        return None, (f"M not built (C({mdp.n_enabled_pairs}, {mdp.n_states}) = {bases} bases); "
                      "eps*(D) comes from the exact engine at each grid point")
    try:
        return safety_matrix(mdp, regret_bound, bounds=bounds, progress=progress, mark_redundant=False), ""
    except ResourceLimit as exc:
        return None, f"M not built ({exc.message}); eps*(D) comes from the exact engine at each grid point"


def _grid_from_matrix(matrix: SafetyMatrix, plane: Slice, points, resolution: int) -> list[float]:
    """``ε*(D)`` at every grid point as ``min_k row_k · D / range R`` (floats, for drawing)."""
    import numpy as np
    n = Fraction(resolution)
    u = np.array([float(i / n) for i, _ in points])
    v = np.array([float(j / n) for _, j in points])
    if not matrix.rows:
        return [math.inf] * len(points)
    values = np.full(len(points), np.inf)
    scale = matrix.range_reward
    for row in matrix.rows:
        a_u, a_v, b = plane.half_plane(row.coefficients, Fraction(0))   # row·D = a_u u + a_v v − b
        values = np.minimum(values, (float(a_u / scale) * u + float(a_v / scale) * v - float(b / scale)))
    return [max(0.0, x) for x in values.tolist()]


def _grid_from_engine(mdp, regret_bound, bounds, plane: Slice, points, resolution: int, epsilon: Fraction,
                      seconds: float, progress: Progress | None) -> list[GridPoint]:
    """``ε*(D)`` by the exact engine at every grid point (exact ``D``; a time budget per point)."""
    out = []
    for k, (i, j) in enumerate(points):
        if progress:
            progress(k, len(points))
        u, v = Fraction(i, resolution), Fraction(j, resolution)
        found = critical_epsilon(mdp, plane.data(u, v), regret_bound, bounds=bounds, max_seconds=seconds)
        out.append(GridPoint(u, v, found.critical_epsilon if found.complete else None, found.complete,
                             found.verdict(epsilon)))
    if progress:
        progress(len(points), len(points))
    return out


def _engine_values(grid: Sequence[GridPoint]) -> list[float]:
    """Floats for drawing: ``nan`` where the time budget left ε*(D) open, ``inf`` for +∞."""
    return [math.nan if not g.complete else math.inf if g.critical_epsilon is None else float(g.critical_epsilon)
            for g in grid]


def _masked_triangulation(tri, resolution: int, values):
    """The lattice's triangles, without those touching a point whose value is not finite."""
    points = lattice(resolution)
    triangles = lattice_triangles(resolution)
    triangulation = tri.Triangulation([i / resolution for i, _ in points], [j / resolution for _, j in points],
                                      triangles)
    triangulation.set_mask([not all(math.isfinite(values[k]) for k in t) for t in triangles])
    return triangulation


def _axis_labels(mdp: MDP, plane: Slice, mode: str) -> tuple[str, str, str]:
    names = [f"D({', '.join(mdp.pair_name(x))})" for x in range(mdp.n_pairs)]
    if mode == "simplex":
        return (f"d1 = {names[0]}", f"d2 = {names[1]}", f"d3 = {names[2]} = 1 − d1 − d2")
    return (names[plane.x], names[plane.y], "rest: 1 − u − v")


def _triangle_outline(ax, **style):
    ax.plot([0, 1, 0, 0], [0, 0, 1, 0], **style)


def _frame(ax, labels, mode: str) -> None:
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(-0.12, 1.12)
    ax.set_aspect("equal")
    ax.set_xlabel(labels[0] if mode == "simplex" else f"u = {labels[0]}", fontsize=11)
    ax.set_ylabel(labels[1] if mode == "simplex" else f"v = {labels[1]}", fontsize=11)
    ax.axhline(0, color="0.8", lw=0.6, zorder=0)
    ax.axvline(0, color="0.8", lw=0.6, zorder=0)
    if mode == "simplex":
        ax.text(0.515, 0.515, labels[2], rotation=-45, rotation_mode="anchor", ha="center", va="bottom",
                fontsize=9, color="saddlebrown", transform=ax.transData)


def _line_in_box(a_u: float, a_v: float, b: float, lo: float, hi: float):
    """The segment of ``a_u·u + a_v·v = b`` inside the square ``[lo, hi]²`` (or ``None``)."""
    points = []
    if a_v != 0:
        for u in (lo, hi):
            v = (b - a_u * u) / a_v
            if lo <= v <= hi:
                points.append((u, v))
    if a_u != 0:
        for v in (lo, hi):
            u = (b - a_v * v) / a_u
            if lo <= u <= hi:
                points.append((u, v))
    points = sorted(set(points))
    return (points[0], points[-1]) if len(points) >= 2 and points[0] != points[-1] else None


def _draw_region(ax, tri, mdp, plane, matrix, grid, resolution, epsilon, polygon, result, labels) -> None:
    eps_text = format_rational(epsilon)
    _triangle_outline(ax, color="saddlebrown", lw=2, label="data simplex Δ (all D ≥ 0)" if result.mode == "simplex"
                      else "slice of Δ (u, v ≥ 0, u + v ≤ 1)", zorder=3)
    if matrix is not None:
        bound = epsilon * matrix.range_reward
        lo, hi = -0.12, 1.12
        labelled = len(matrix.rows) <= LABELLED_ROWS
        placed: list[tuple[float, float]] = []
        first = True
        drawn = []
        for k, row in enumerate(matrix.rows, start=1):
            a_u, a_v, b = (float(t) for t in plane.half_plane(row.coefficients, bound))
            segment = _line_in_box(a_u, a_v, b, lo, hi)
            if segment is not None:
                drawn.append((k, (a_u, a_v, b), segment))
        for k, line, segment in drawn:
            (u0, v0), (u1, v1) = segment
            ax.plot([u0, u1], [v0, v1], ls="--", color="0.25", lw=1.2, zorder=2,
                    label="row k of M (circled k): (M D)_k = ε · range R on the line" if first else None)
            first = False
            if labelled:
                others = [other for j, other, _ in drawn if j != k]
                lu, lv = _label_position((u0, v0), (u1, v1), placed, others, _centre(polygon))
                placed.append((lu, lv))
                ax.text(lu, lv, str(k), ha="center", va="center", fontsize=10, zorder=5,
                        bbox=dict(boxstyle="circle,pad=0.25", fc="white", ec="0.25", lw=1))
        if polygon:
            xs = [float(u) for u, _ in polygon]
            ys = [float(v) for _, v in polygon]
            ax.fill(xs, ys, color="#5aa469", alpha=0.75, zorder=1,
                    label=f"safe region at ε = {eps_text} (exact polygon; its points on a dashed line are unsafe)")
            ax.plot(xs + xs[:1], ys + ys[:1], color="#1e5e2c", lw=2, zorder=4)
            ax.plot(xs, ys, "o", color="#1e5e2c", ms=4, zorder=4)
        elif not matrix.rows:
            ax.fill([0, 1, 0], [0, 0, 1], color="#5aa469", alpha=0.75, zorder=1,
                    label="safe region: no policy has regret ≥ L, every D is safe")
        else:
            ax.text(0.35, 0.35, f"no D on this {'simplex' if result.mode == 'simplex' else 'slice'}\n"
                    f"is safe at ε = {eps_text}", ha="center", fontsize=11, color="darkred")
        title = "Safe region (Theorem 3.5): D is safe iff (M D)_k > ε · range R for every row k"
        if result.mode == "simplex" and matrix.rows and labelled:
            rows = ",  ".join(f"{k}: ({', '.join(format_rational(c) for c in row.coefficients)})"
                              for k, row in enumerate(matrix.rows, start=1))
            title += f"\nrows of M  {rows};  range R = {format_rational(matrix.range_reward)}"
        ax.set_title(title, fontsize=10.5)
    else:
        values = _engine_values(grid)
        triangulation = _masked_triangulation(tri, resolution, values)
        finite = [v for v in values if math.isfinite(v)]
        eps = float(epsilon)
        if finite and max(finite) > eps:
            top = max(finite) + 1.0
            ax.tricontourf(triangulation, [v if math.isfinite(v) else top for v in values],
                           levels=[eps, top], colors=["#5aa469"], alpha=0.45, zorder=1)
            ax.fill([], [], color="#5aa469", alpha=0.45, label="safe region, interpolated between grid points")
        style = {Verdict.SAFE: ("o", "#1e5e2c", f"grid point safe at ε = {eps_text} (exact engine)"),
                 Verdict.UNSAFE: ("x", "darkred", f"grid point unsafe at ε = {eps_text} (exact engine)"),
                 Verdict.UNKNOWN: ("s", "0.55", "undecided within the time budget")}
        for verdict, (shape, colour, label) in style.items():
            us = [float(g.u) for g in grid if g.verdict is verdict]
            vs = [float(g.v) for g in grid if g.verdict is verdict]
            if us:
                ax.plot(us, vs, shape, color=colour, ms=5, ls="none", label=label, zorder=4)
        ax.set_title("Safe region, sampled: the exact engine's verdict at each grid point\n"
                     "(M was not built; the green area interpolates between the points)", fontsize=10.5)
    _mark(ax, result)
    _frame(ax, labels, result.mode)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize=9.5, frameon=False)


def _label_position(start, end, placed, lines, centre) -> tuple[float, float]:
    """A point of the segment for a row's label: outside the simplex if possible, away from
    the safe polygon, the other lines and the labels already placed."""
    best, best_score = start, -math.inf
    for step in range(2, 39):
        t = step / 40
        p = (start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
        to_labels = min((math.dist(p, q) for q in placed), default=1.0)
        to_lines = min((abs(a * p[0] + b * p[1] - c) / math.hypot(a, b) for a, b, c in lines), default=1.0)
        to_edges = min(abs(p[0]), abs(p[1]), abs(p[0] + p[1] - 1) / math.sqrt(2))
        outside = p[0] < 0 or p[1] < 0 or p[0] + p[1] > 1
        score = (3 * min(to_labels, 0.25) + 4 * min(to_lines, 0.1) + min(math.dist(p, centre), 0.6)
                 + 4 * min(to_edges, 0.07) + (0.2 if outside else 0))
        if score > best_score:
            best, best_score = p, score
    return best


def _centre(polygon) -> tuple[float, float]:
    if not polygon:
        return (1 / 3, 1 / 3)
    return (sum(float(u) for u, _ in polygon) / len(polygon), sum(float(v) for _, v in polygon) / len(polygon))


def _mark(ax, result: PlotResult) -> None:
    if result.marker is None:
        return
    u, v = (float(t) for t in result.marker)
    what = "data D" if result.mode == "simplex" else "base D"
    value = format_epsilon(result.marker_epsilon) if result.marker_known else "unknown"
    ax.plot([u], [v], marker="*", ms=15, color="gold", mec="black", mew=1, ls="none", zorder=6,
            label=f"{what}: ε*(D) = {value}")


def _draw_heat_map(figure, ax, tri, plane, grid, resolution, epsilon, polygon, result, labels, matrix) -> None:
    import numpy as np
    from matplotlib import patheffects
    outline = [patheffects.withStroke(linewidth=3.5, foreground="black")]
    values = np.array(grid if matrix is not None else _engine_values(grid), dtype=float)
    triangulation = _masked_triangulation(tri, resolution, values)
    finite = np.isfinite(values)
    eps = float(epsilon)
    if not finite.any():
        _triangle_outline(ax, color="saddlebrown", lw=2)
        message = ("no policy has regret ≥ L:\nε*(D) = +∞ for every D" if matrix is not None or
                   all(g.complete for g in grid) else "ε*(D) undecided at every grid point\n(time budget)")
        ax.text(0.35, 0.4, message, ha="center", fontsize=11)
    else:
        if (~finite).any():
            ax.fill([0, 1, 0], [0, 0, 1], fc="0.85", hatch="//", ec="0.55", lw=0.5, zorder=0,
                    label="ε*(D) unknown (time budget)" if matrix is None else "ε*(D) = +∞")
        filled = np.where(finite, values, 0.0)
        mesh = ax.tripcolor(triangulation, filled, shading="gouraud", cmap="viridis",
                            vmin=0.0, vmax=max(float(filled.max()), eps) or 1.0, zorder=1)
        bar = figure.colorbar(mesh, ax=ax, shrink=0.85, pad=0.02)
        bar.ax.set_title("ε*(D)", fontsize=12, pad=10)
        bar.ax.axhline(eps, color="white", lw=2)
        top = bar.mappable.norm.vmax
        ticks = [t for t in bar.get_ticks() if 0 <= t <= top and abs(t - eps) > 0.07 * top]
        bar.set_ticks(ticks + [eps], labels=[f"{t:g}" for t in ticks] + [f"ε = {format_rational(epsilon)}"])
        if polygon:
            xs = [float(u) for u, _ in polygon]
            ys = [float(v) for _, v in polygon]
            ax.plot(xs + xs[:1], ys + ys[:1], color="white", lw=2, zorder=3, path_effects=outline,
                    label=f"safe region at ε = {format_rational(epsilon)} (ε*(D) > ε), exact")
        elif matrix is None and filled.min() < eps < filled.max():
            contour = ax.tricontour(triangulation, filled, levels=[eps], colors="white", linewidths=2, zorder=3)
            contour.set(path_effects=outline)
            ax.plot([], [], color="white", lw=2, path_effects=outline, label=f"contour ε*(D) = ε = {format_rational(epsilon)}")
        _triangle_outline(ax, color="saddlebrown", lw=2, zorder=2)
    source = ("ε*(D) = min_k (M D)_k / range R" if matrix is not None
              else "ε*(D) by the exact engine at each grid point, interpolated")
    ax.set_title(f"Critical error {source}:\nD is safe for exactly the ε < ε*(D)", fontsize=10.5)
    _mark(ax, result)
    _frame(ax, labels, result.mode)
    ax.set_facecolor("white")
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize=9.5, frameon=False)


def describe_vertices(mdp: MDP, result: PlotResult) -> list[str]:
    """The exact polygon as lines of text: each vertex as ``(u, v)`` and as the distribution D."""
    if result.polygon is None:
        return []
    if not result.polygon:
        return ["the safe region is empty on this " + ("simplex" if result.mode == "simplex" else "slice")]
    names = [pair_text(mdp, x) for x in range(mdp.n_pairs)]
    lines = [f"safe region (exact): the polygon with these {len(result.polygon)} vertices, counter-clockwise, "
             "minus its points on a line (M D)_k = eps * range R:"]
    coords = [f"({format_rational(u)}, {format_rational(v)})" for u, v in result.polygon]
    width = max(map(len, coords))
    for k, (text, data) in enumerate(zip(coords, result.polygon_data), start=1):
        dist = ", ".join(f"{n}={format_rational(p)}" for n, p in zip(names, data) if p)
        lines.append(f"  {k}. (u, v) = {text:<{width}}  D: {dist}")
    return lines
