"""The geometry of a picture of the safe region, exact: slices of Δ, the safe polygon, the grid."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

from rewardcert.symbolic.core.errors import (
    ModelError,
)
from rewardcert.symbolic.core.model import (
    MDP,
    Vector,
    validate_distribution,
)
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.paper.matrix import SafetyMatrix

Point = tuple[Fraction, Fraction]

Progress = Callable[[int, int], None]

MATRIX_RESOLUTION = 200        # grid steps per side when ε*(D) comes from M (cheap)

ENGINE_RESOLUTION = 8          # ... and when every grid point runs the exact engine

MAX_RESOLUTION = 2000

ENGINE_SECONDS = 2.0           # default time budget of the exact engine per grid point

# M is built for a plot only below these sizes (cf. rewardcert.symbolic.paper.matrix.MAX_BASES): a picture
# should not wait minutes for the enumeration when the engine can sample the slice.
MATRIX_POLICIES_LIMIT = 200_000

MATRIX_BASES_LIMIT = 200_000

LABELLED_ROWS = 16             # more rows than this are drawn without labels

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

