"""``plot_safe_region``: the exact safe polygon and the ε*(D) grid on a slice of Δ, drawn and written atomically."""

from __future__ import annotations

import math
import os
from fractions import Fraction
from math import comb

from rewardcert.symbolic.core.errors import (
    ModelError,
    ResourceLimit,
)
from rewardcert.symbolic.core.model import (
    MDP,
    Vector,
    uniform_distribution,
    validate_distribution,
)
from rewardcert.symbolic.core.numbers import format_rational
from rewardcert.symbolic.core.parameters import check_epsilon, check_regret_bound
from rewardcert.symbolic.exact.evaluation import MAX_ENUMERATION
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.paper.matrix import SafetyMatrix, safety_matrix
from rewardcert.symbolic.search.engine import critical_epsilon

from .backend import load_matplotlib, picture_format, save
from .draw import axis_labels, draw_heat_map, draw_region
from .geometry import (
    ENGINE_RESOLUTION,
    ENGINE_SECONDS,
    MATRIX_BASES_LIMIT,
    MATRIX_POLICIES_LIMIT,
    MATRIX_RESOLUTION,
    MAX_RESOLUTION,
    GridPoint,
    PlotResult,
    Progress,
    Slice,
    data_slice,
    lattice,
    pair_text,
    safe_polygon,
    simplex_slice,
)


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
    Figure, FigureCanvasAgg, tri = load_matplotlib()
    regret_bound, epsilon = check_regret_bound(regret_bound), check_epsilon(epsilon)
    output = os.fspath(output)
    extension = picture_format(output)
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
    labels = axis_labels(mdp, plane, mode)
    draw_region(left, tri, mdp, plane, matrix, grid, resolution, epsilon, polygon, result, labels)
    draw_heat_map(figure, right, tri, plane, grid, resolution, epsilon, polygon, result, labels, matrix)
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
    save(figure, output, extension, stdout=stdout)
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
