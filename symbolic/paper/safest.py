"""The safest data distribution: the toolkit's own question, not the paper's (Theorem 3.5's M is).

``safest_distribution``: ``ε** = max_{D ∈ Δ} ε*(D)`` and a maximiser, by cutting planes. ``M`` is
never built in full. Each cut is the error row ``|R̂ − R|`` of an exact witness. The exact LP over
the cuts so far gives ``(D_k, τ_k)`` with ``τ_k ≥ ε**``, and the branch and bound gives
``ε*(D_k) ≤ ε**``. The loop stops when the two meet. Otherwise the witness found at ``D_k`` is a
new cut that ``D_k`` violates. There are finitely many vertex rows, so the loop ends. The LP's
duals weight the cuts: for every ``D``,
``ε*(D) · range R ≤ min_k D·row_k ≤ max_x Σ_k λ_k row_k(x) = ε** · range R``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..core.errors import ResourceLimit, RewardcertError
from ..core.model import MDP, Vector, uniform_distribution
from ..core.results import Witness
from ..exact.evaluation import Progress, ReturnBounds
from ..exact.familylp import linear_program
from ..exact.linalg import to_fmpq, to_fraction
from ..guidance.floatvi import return_bounds
from ..search.engine import critical_epsilon
from ..search.results import ThresholdResult
from .matrix import MatrixRow, SafetyMatrix
from .section3 import MAX_CUTS, SUPPORT_TOLERANCE


@dataclass(frozen=True)
class SafestResult:
    """``ε** = max_D ε*(D)`` (``None`` = +∞: no policy has regret ≥ L) with a maximiser.

    ``rows`` are witness rows, and ``weights`` (summing to 1) prove the upper bound
    ``max_x Σ_k weights_k · rows_k(x) = ε** · range R``. ``threshold`` is the
    search result at ``data``, which proves the lower bound ``ε*(data) = ε**``.
    """

    max_critical_epsilon: Fraction | None
    data: Vector
    rows: tuple[MatrixRow, ...]
    weights: tuple[Fraction, ...]
    threshold: ThresholdResult | None
    iterations: int
    complete: bool = True                    # False: a budget stopped the cutting planes
    lower: Fraction | None = None            # then lower <= eps** <= upper (see safest_distribution)
    upper: Fraction | None = None


def _row_of(mdp: MDP, witness: Witness) -> MatrixRow:
    return MatrixRow(tuple(abs(rh - r) if mdp.is_enabled(x) else Fraction(0)
                           for x, (rh, r) in enumerate(zip(witness.reward, mdp.reward))), witness.policy,
                     witness.reward)


def _best_over_rows(mdp: MDP, rows: Sequence[MatrixRow]):
    """Exact LP: maximise τ s.t. row·D ≥ τ · range R for every row, D ∈ Δ.

    It is the matrix game ``max_D min_k row_k·D``, so floats (HiGHS) first name the two
    supports, and the exact solution on them is kept if its bounds meet exactly
    (``_game_on_supports``); otherwise the exact simplex solves it."""
    exact = _game_on_supports(mdp, rows)
    if exact is not None:
        return exact
    N, range_r = mdp.n_pairs, mdp.range_reward
    a_ub = [[-c for c in row.coefficients] + [range_r] for row in rows]
    a_eq = [[1] * N + [0]] + [[int(y == x) for y in range(N)] + [0]            # D = 0 on disabled pairs
                              for x in range(N) if not mdp.is_enabled(x)]
    result = linear_program([0] * N + [1], a_ub, [0] * len(rows), a_eq, [1] + [0] * (len(a_eq) - 1))
    if result.status != "optimal":
        raise RewardcertError(f"internal error: the safest-distribution LP is {result.status}")
    data = tuple(map(to_fraction, result.x[:N]))
    tau = to_fraction(result.x[N])
    weights = [to_fraction(y) for y in result.duals[:len(rows)]]
    total = sum(weights)
    weights = tuple(w / total for w in weights) if total else tuple(weights)
    return data, tau, weights


def _game_on_supports(mdp: MDP, rows: Sequence[MatrixRow]):
    """``_best_over_rows`` from a floating solution, or ``None``.

    HiGHS proposes ``D`` and a mixture ``λ`` of the rows.  On their supports ``I`` (pairs) and
    ``K`` (rows), with ``|I| = |K|``, the exact equalizing solutions are solved for:
    ``row_k·D = v`` (``k ∈ K``) with ``Σ D_I = 1``, and ``Σ_k λ_k row_k(x) = v`` (``x ∈ I``) with
    ``Σ λ_K = 1``.  Any ``D ∈ Δ`` has ``min_k row_k·D ≤ v*`` and any ``λ ∈ Δ`` has
    ``max_x Σ λ_k row_k(x) ≥ v*`` (weak duality), so when the two agree, exactly, both are
    optimal.  That test is all that decides; the floats only pick the supports."""
    from flint import fmpq_mat

    from ..core.errors import BackendUnavailable
    enabled = [x for x in range(mdp.n_pairs) if mdp.is_enabled(x)]
    try:
        from ..guidance.highs import game_solution
        guess = game_solution([[float(row.coefficients[x]) for x in enabled] for row in rows])
    except (BackendUnavailable, OverflowError, ValueError):
        return None
    if guess is None:
        return None
    point, mixture = guess
    pairs = [enabled[i] for i in range(len(enabled)) if point[i] > SUPPORT_TOLERANCE]
    mix = [k for k in range(len(rows)) if mixture[k] > SUPPORT_TOLERANCE]
    if not pairs or len(pairs) != len(mix):
        return None
    size = len(pairs)
    coefficient = [[to_fmpq(rows[k].coefficients[x]) for x in pairs] for k in mix]
    # unknowns (D_I, v): row_k·D − v = 0 for k ∈ K, Σ D = 1; and (λ_K, v) likewise by columns
    primal = fmpq_mat(size + 1, size + 1, [c for k in range(size) for c in coefficient[k] + [-1]] + [1] * size + [0])
    dual = fmpq_mat(size + 1, size + 1, [c for x in range(size) for c in [coefficient[k][x] for k in range(size)] + [-1]]
                    + [1] * size + [0])
    rhs = fmpq_mat(size + 1, 1, [0] * size + [1])
    try:
        d_part, l_part = primal.solve(rhs), dual.solve(rhs)
    except ZeroDivisionError:             # a singular system: the supports were wrong
        return None
    if any(d_part[i, 0] < 0 for i in range(size)) or any(l_part[i, 0] < 0 for i in range(size)):
        return None
    data = [Fraction(0)] * mdp.n_pairs
    for i, x in enumerate(pairs):
        data[x] = to_fraction(d_part[i, 0])
    weights = [Fraction(0)] * len(rows)
    for i, k in enumerate(mix):
        weights[k] = to_fraction(l_part[i, 0])
    low = min(sum((c * d for c, d in zip(row.coefficients, data) if d), Fraction(0)) for row in rows)
    high = max(sum((w * rows[k].coefficients[x] for k, w in enumerate(weights) if w), Fraction(0))
               for x in enabled)
    if low != high:
        return None
    return tuple(data), low / mdp.range_reward, tuple(weights)


def safest_distribution(mdp: MDP, regret_bound: Fraction, *, bounds: ReturnBounds | None = None,
                        matrix: SafetyMatrix | None = None, progress: Progress | None = None,
                        max_iterations: int = MAX_CUTS, max_seconds: float | None = None,
                        stop=None) -> SafestResult:
    """``ε**`` and a maximising ``D`` by cutting planes (or from a full ``matrix``).

    With ``max_seconds`` (or ``stop``, polled like it), a budget that runs out returns an
    incomplete result: ``lower`` is the largest exact ``ε*(D)`` found so far (so ``ε** ≥ lower``) and
    ``upper`` the LP bound over the witness rows found so far (every row is an attack, so
    ``ε** ≤ upper``), at most 1/2; ``data`` is the distribution that attained ``lower``.  If the
    budget stops the first search (at the uniform ``D``, ``iterations == 0``), ``lower`` is that
    stopped search's certified lower end for ``ε*(uniform)``, and ``upper`` the bound from its
    witness row alone."""
    import time
    started = time.monotonic()

    def remaining() -> float | None:
        return None if max_seconds is None else max(0.0, max_seconds - (time.monotonic() - started))

    bounds = bounds or return_bounds(mdp)
    uniform = uniform_distribution(mdp)
    best: tuple[Fraction, Vector] | None = None
    if matrix is not None:
        if not matrix.rows:
            return SafestResult(None, uniform, (), (), None, 0)
        rows = list(matrix.rows)
    else:
        start = critical_epsilon(mdp, uniform, regret_bound, bounds=bounds, max_seconds=remaining(), stop=stop)
        if not start.complete:
            # ε** ≥ ε*(uniform) ≥ the stopped search's lower end.  Its upper end bounds ε*(uniform)
            # only, not ε** (a wrong bracket once came from it); the witness row found bounds ε**.
            found = (_row_of(mdp, start.witness),) if start.witness is not None else ()
            return SafestResult(None, uniform, (), (), start, 0, False, start.lower_bound or Fraction(0),
                                _upper_end(mdp, found))
        if start.critical_epsilon is None:
            return SafestResult(None, uniform, (), (), start, 0)
        best = (start.critical_epsilon, uniform)
        rows = [_row_of(mdp, start.witness)]
    for iteration in range(1, max_iterations + 1):
        data, tau, weights = _best_over_rows(mdp, rows)
        result = critical_epsilon(mdp, data, regret_bound, bounds=bounds, max_seconds=remaining(), stop=stop)
        if progress:
            progress(iteration, max_iterations)
        if not result.complete:
            low, low_data = best if best is not None else (Fraction(0), uniform)
            return SafestResult(None, low_data, tuple(rows), weights, None, iteration, False, low,
                                min(tau, _upper_end(mdp, ())))
        if result.critical_epsilon is not None and (best is None or result.critical_epsilon > best[0]):
            best = (result.critical_epsilon, data)
        if result.critical_epsilon is not None and result.critical_epsilon >= tau:
            if result.critical_epsilon != tau:
                raise RewardcertError("internal error: eps*(D) exceeds the LP bound over valid rows")
            _check_cover(mdp, rows, weights, tau)
            return SafestResult(tau, data, tuple(rows), weights, result, iteration)
        if matrix is not None:
            raise RewardcertError("internal error: the full matrix M did not bound eps*(D)")
        row = _row_of(mdp, result.witness)
        if row.coefficients in {r.coefficients for r in rows}:
            raise RewardcertError("internal error: a cutting plane repeated itself")
        rows.append(row)
    raise ResourceLimit(f"the cutting-plane loop did not converge in {max_iterations} iterations")


def _upper_end(mdp: MDP, rows: Sequence[MatrixRow]) -> Fraction:
    """An upper bound on ``ε**`` from witness rows alone: every row is an attack at every ``D``, so
    ``ε*(D) ≤ row·D / range R ≤ max_x row(x) / range R``; and a constant ``R̂`` makes every policy
    optimal, so ``ε*(D) ≤ 1/2`` for every ``D`` (docs/theory.md §2) once some policy has regret ``≥ L``."""
    half = Fraction(1, 2)
    enabled = [x for x in range(mdp.n_pairs) if mdp.is_enabled(x)]
    return min([half] + [max(row.coefficients[x] for x in enabled) / mdp.range_reward for row in rows])


def _check_cover(mdp: MDP, rows: Sequence[MatrixRow], weights: Sequence[Fraction], tau: Fraction) -> None:
    """The upper-bound evidence must hold exactly: ``max_x Σ λ_k row_k(x) ≤ τ · range R``."""
    limit = tau * mdp.range_reward
    if abs(sum(weights) - 1) or any(w < 0 for w in weights):
        raise RewardcertError("internal error: cut weights are not a distribution")
    for x in range(mdp.n_pairs):
        if sum((w * row.coefficients[x] for w, row in zip(weights, rows) if w), Fraction(0)) > limit:
            raise RewardcertError("internal error: the weighted cuts do not bound eps**")
