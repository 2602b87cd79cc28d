"""Drawing the safe region and the heat map of ε*(D) with matplotlib (through ``backend``); floats only here."""

from __future__ import annotations

import math
from typing import Sequence

from rewardcert.symbolic.core.model import (
    MDP,
)
from rewardcert.symbolic.core.numbers import format_epsilon, format_rational
from rewardcert.symbolic.core.results import Verdict

from .backend import path_effects
from .geometry import (
    LABELLED_ROWS,
    GridPoint,
    PlotResult,
    Slice,
    lattice,
    lattice_triangles,
    pair_text,
)


def engine_values(grid: Sequence[GridPoint]) -> list[float]:
    """Floats for drawing: ``nan`` where the time budget left ε*(D) open, ``inf`` for +∞."""
    return [math.nan if not g.complete else math.inf if g.critical_epsilon is None else float(g.critical_epsilon)
            for g in grid]


def masked_triangulation(tri, resolution: int, values):
    """The lattice's triangles, without those touching a point whose value is not finite."""
    points = lattice(resolution)
    triangles = lattice_triangles(resolution)
    triangulation = tri.Triangulation([i / resolution for i, _ in points], [j / resolution for _, j in points],
                                      triangles)
    triangulation.set_mask([not all(math.isfinite(values[k]) for k in t) for t in triangles])
    return triangulation

def axis_labels(mdp: MDP, plane: Slice, mode: str) -> tuple[str, str, str]:
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

def draw_region(ax, tri, mdp, plane, matrix, grid, resolution, epsilon, polygon, result, labels) -> None:
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
        values = engine_values(grid)
        triangulation = masked_triangulation(tri, resolution, values)
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

def draw_heat_map(figure, ax, tri, plane, grid, resolution, epsilon, polygon, result, labels, matrix) -> None:
    import numpy as np
    outline = [path_effects().withStroke(linewidth=3.5, foreground="black")]
    values = np.array(grid if matrix is not None else engine_values(grid), dtype=float)
    triangulation = masked_triangulation(tri, resolution, values)
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
