"""The matrix M of Theorem 3.5: rewardcert's bases against vertex enumeration with pycddlib (issue 4).

For MDPs of growing ``|S×A|`` (seeded random MDPs from ``benchmarks.common``,
``L = 1/2``, plus the paper's Figure 4 with ``L = 4/5``) this computes ``M``
two ways in one run and asserts that they agree exactly:

* **rewardcert** — ``rewardcert.symbolic.paper.matrix.safety_matrix(mdp, L, mark_redundant=False)``:
  one exact solve per basis (``|S|`` pairs), then per basis only the policies
  whose on-policy error set is minimal (the module docstring of
  ``symbolic/paper/matrix.py``), then ``remove_dominated``.
* **pycddlib** — for every ``π ∈ Π_L`` the polyhedron
  ``Q_π = {(R̂, t) : π uniformly optimal for R̂, t ≥ R̂ − R, t ≥ R − R̂}`` is
  written in H-representation and handed to cddlib's double description
  method in exact GMP rational arithmetic (``cdd.gmp``, which rejects
  floats); the ``t``-part of every vertex is a candidate row, and the
  candidates of all policies are deduplicated and stripped of rows that
  dominate another row componentwise.  ``Q_π`` is pointed (``t`` bounds
  ``R̂`` and ``R̂`` fixes ``V`` because ``I − γP_π`` is invertible), so
  cddlib returns vertices and rays but no lines; the rays are ignored.

The H-representation (``--form``):

* ``reduced`` (default): variables ``(V, ξ, t)`` with ``R̂ = g_V + ξ``,
  ``g_V(s,a) = V(s) − γ τ(·|s,a)·V``, ``ξ`` only on the pairs ``π`` does not
  take (it is 0 on ``π``'s pairs) and rows ``ξ ≤ 0``,
  ``t ≥ ±(g_V + ξ − R)``: ``2|S×A|`` variables, inequalities only.
* ``spec``: variables ``(R̂, V, t)`` exactly as in the LP of docs/theory.md §3:
  ``|S|`` equality rows ``V(s) = R̂(s,π(s)) + γ τ·V`` (cddlib's ``lin_set``),
  ``V(s) ≥ R̂(s,a) + γ τ·V`` for the other pairs, ``t ≥ ±(R̂ − R)``:
  ``2|S×A| + |S|`` variables.

The two are related by an invertible affine map, so they have the same
vertices.  The pycddlib side builds its rows from the model's ``Fraction``
data itself; it shares with rewardcert only ``Π_L``
(``rewardcert.symbolic.paper.matrix.high_regret_policies``).  Its dominated-row removal is its
own exact code: each value is replaced by its rank within its column (which
preserves every componentwise comparison) and the rank vectors are compared
as numpy ``int64`` arrays, per policy and then over all policies.  Outside the
timings every pycddlib row is re-checked: its witness ``R̂`` makes ``π``
uniformly optimal (``rewardcert.symbolic.exact.evaluation.is_uniformly_optimal``) and its
coefficients are ``|R̂ − R|``.  If the two row sets differ, ``min_k (M D)_k``
is compared on ``--samples`` random exact distributions ``D`` instead; the
script exits 1 if even that differs.

Time budget: the instances run in order of ``|S×A|``.  Both methods grow
exponentially in ``|S×A|`` here (cddlib's vertex count per ``Q_π`` and
rewardcert's dominated-row removal), so a polynomial extrapolation such as
``benchmarks.timing.Budget`` would underestimate the next size;
``ExponentialBudget`` extrapolates ``log(seconds per unit)`` linearly in
``|S×A|`` from the last two sizes measured (a unit is one policy of ``Π_L``
for pycddlib and one instance for rewardcert).  A method predicted to need
more than ``--budget`` seconds on an instance is skipped there and printed
as ``> predicted (skip)``; the run stops when every method has been skipped.
The budget bounds predictions, so one measured run can exceed it.

Columns: ``#Pi_L`` policies with regret ``≥ L``; ``rows of M`` after
deduplication and dominated-row removal (both methods, when both ran);
``rewardcert`` the whole ``safety_matrix`` call; ``pycddlib (all)`` the whole
vertex-enumeration method (``Π_L``, which ``safety_matrix`` computes too,
writing the H-representations, cddlib, decoding, dominated-row removal);
``of which cddlib`` ``matrix_from_array`` + ``polyhedron_from_matrix`` +
``copy_generators`` and reading the generators back as ``Fraction``s;
``vertices``/``rays`` what cddlib returned, summed over ``Π_L``.  Times are
wall-clock, best of 3 below 2 s, a single run above.

pycddlib (``pip install '.[bench]'``; its GMP module needs the
system's cddlib and GMP headers, e.g. Debian's ``libcdd-dev libgmp-dev``) is
optional: without it the script says so and exits 0 (``--methods rewardcert``
runs without it).

Usage, from the repository root::

    python -m benchmarks.bench_matrix                           # default shapes, --budget 180
    python -m benchmarks.bench_matrix --shapes 2x3 3x3 --seeds 2 --show-rows
    python -m benchmarks.bench_matrix --form spec --budget 30
    python -m benchmarks.bench_matrix --methods rewardcert --shapes 5x3 4x4 --budget 600

Exits 0 when every compared instance agrees, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Sequence

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import MDP, DeterministicPolicy, Vector
from rewardcert.symbolic.exact.evaluation import is_uniformly_optimal
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.paper.matrix import high_regret_policies, safety_matrix

from benchmarks.common import random_distribution, random_mdp
from benchmarks.timing import best_time, machine

ROOT = Path(__file__).resolve().parent.parent
FIGURE4 = ROOT / "examples" / "figure4.toml"
FIGURE4_L = Fraction(4, 5)
DEFAULT_SHAPES = ("1x3", "2x2", "1x5", "2x3", "3x2", "2x4", "3x3", "2x5", "4x3", "3x4", "2x6",
                  "5x3", "4x4", "3x5", "6x3", "5x4")
DEFAULT_GROWTH = 3.0   # per extra pair, before two sizes have been measured (cddlib measured ~2.7)


# -- pycddlib, fenced: the only place that imports it ------------------------------------

def load_cdd():
    """``(cdd, cdd.gmp)``, or ``None`` when the exact build of pycddlib >= 3 is missing."""
    try:
        import cdd
        import cdd.gmp
    except ImportError:
        return None
    if not hasattr(cdd.gmp, "polyhedron_from_matrix"):   # pycddlib 2.x: no function API
        return None
    return cdd, cdd.gmp


def discount_rows(mdp: MDP) -> list[list[Fraction]]:
    """Row ``x``: ``γ τ(·|x)`` over next states, dense, from the model's Fractions."""
    n = mdp.n_states
    rows = []
    for x in range(mdp.n_pairs):
        row = [Fraction(0)] * n
        if mdp.gamma and mdp.transitions is not None:
            for s_next, p in mdp.transitions[x]:
                row[s_next] += mdp.gamma * p
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Encoding:
    """An H-representation of ``Q_π`` (``[b | A]``: ``b + A z ≥ 0``, ``= 0`` on ``lin_set``)
    and the map back from a vertex ``z`` to ``(t, R̂)``."""

    array: list[list[Fraction]]
    lin_set: tuple[int, ...]
    t_slice: slice
    form: str
    off_index: dict[int, int]   # reduced form: pair -> column of its ξ

    def decode(self, z: Sequence[Fraction], mdp: MDP, discount: list[list[Fraction]]) -> tuple[Vector, Vector]:
        t = tuple(z[self.t_slice])
        N, n, m = mdp.n_pairs, mdp.n_states, mdp.n_actions
        if self.form == "spec":
            witness = tuple(z[:N])
        else:
            witness = tuple(z[x // m] - sum((g * v for g, v in zip(discount[x], z[:n]) if g), Fraction(0))
                            + (z[self.off_index[x]] if x in self.off_index else 0)
                            for x in range(N))
        return t, witness


def encode(mdp: MDP, policy: DeterministicPolicy, discount: list[list[Fraction]], form: str) -> Encoding:
    N, n, m = mdp.n_pairs, mdp.n_states, mdp.n_actions
    reward = mdp.reward
    on = {s * m + a for s, a in enumerate(policy)}
    zero = Fraction(0)
    array: list[list[Fraction]] = []
    lin: list[int] = []
    if form == "spec":                                   # z = (R̂ [N], V [n], t [N])
        width = 1 + 2 * N + n
        for x in range(N):
            s = x // m
            bellman = [zero] * width                     # R̂(x) + γ τ(·|x)·V − V(s)
            bellman[1 + x] = Fraction(1)
            for k, g in enumerate(discount[x]):
                bellman[1 + N + k] += g
            bellman[1 + N + s] -= 1
            if x in on:
                lin.append(len(array))
                array.append(bellman)                    # = 0
            else:
                array.append([-v for v in bellman])      # V(s) − R̂(x) − γ τ·V ≥ 0
            above = [zero] * width                       # t(x) − R̂(x) + R(x) ≥ 0
            above[0], above[1 + x], above[1 + N + n + x] = reward[x], Fraction(-1), Fraction(1)
            below = [zero] * width                       # t(x) + R̂(x) − R(x) ≥ 0
            below[0], below[1 + x], below[1 + N + n + x] = -reward[x], Fraction(1), Fraction(1)
            array += [above, below]
        return Encoding(array, tuple(lin), slice(N + n, 2 * N + n), form, {})
    off = [x for x in range(N) if x not in on]            # z = (V [n], ξ [off], t [N])
    off_index = {x: n + i for i, x in enumerate(off)}
    t0 = n + len(off)
    width = 1 + t0 + N
    for x in range(N):
        g_row = [-g for g in discount[x]]                 # g_V(x) = V(s) − γ τ(·|x)·V
        g_row[x // m] += 1
        above = [zero] * width                           # t − (g_V + ξ − R) ≥ 0
        below = [zero] * width                           # t + (g_V + ξ − R) ≥ 0
        above[0], below[0] = reward[x], -reward[x]
        for k, c in enumerate(g_row):
            above[1 + k], below[1 + k] = -c, c
        if x in off_index:
            j = off_index[x]
            above[1 + j], below[1 + j] = Fraction(-1), Fraction(1)
            sign = [zero] * width                        # −ξ(x) ≥ 0
            sign[1 + j] = Fraction(-1)
            array.append(sign)
        above[1 + t0 + x] = below[1 + t0 + x] = Fraction(1)
        array += [above, below]
    return Encoding(array, (), slice(t0, t0 + N), form, off_index)


def minimal_rows(rows: Sequence[Vector]) -> list[int]:
    """Indices of the distinct rows that are componentwise ≥ no other row, exactly.

    Componentwise comparisons only need the order of the values within each
    column, so every value is replaced by its rank among the distinct values of
    its column (exact, and always small); the rank vectors are then compared as
    numpy ``int64`` arrays, in order of rank sum (a row precedes every row it
    is strictly below, so one pass suffices).
    """
    if not rows:
        return []
    ranks = [{v: r for r, v in enumerate(sorted(set(column)))} for column in zip(*rows)]
    first: dict[tuple[int, ...], int] = {}
    for i, row in enumerate(rows):
        first.setdefault(tuple(rank[v] for rank, v in zip(ranks, row)), i)
    order = sorted(first, key=lambda r: (sum(r), r))
    block = np.empty((len(order), len(order[0])), dtype=np.int64)
    kept: list[int] = []
    for row in order:
        candidate = np.array(row, dtype=np.int64)
        if kept and (block[:len(kept)] <= candidate).all(axis=1).any():
            continue
        block[len(kept)] = candidate
        kept.append(first[row])
    return kept


@dataclass
class VertexResult:
    rows: list[tuple[Vector, DeterministicPolicy, Vector]]   # (coefficients, policy, witness)
    vertices: int
    rays: int
    cdd_seconds: float      # cddlib's double description alone


def matrix_by_vertices(mdp: MDP, L: Fraction, form: str, cdd_modules) -> VertexResult:
    """M from the vertices of every ``Q_π``, ``π ∈ Π_L`` (module docstring)."""
    cdd, gmp = cdd_modules
    policies = high_regret_policies(mdp, L)
    discount = discount_rows(mdp)
    survivors: list[tuple[Vector, DeterministicPolicy, Vector]] = []
    vertices = rays = 0
    in_cdd = 0.0
    for policy in policies:
        encoding = encode(mdp, policy, discount, form)
        start = time.perf_counter()
        matrix = gmp.matrix_from_array(encoding.array, lin_set=encoding.lin_set,
                                       rep_type=cdd.RepType.INEQUALITY)
        generators = gmp.copy_generators(gmp.polyhedron_from_matrix(matrix))
        array = generators.array                       # GMP rationals -> Python Fractions
        in_cdd += time.perf_counter() - start
        if generators.lin_set:
            raise AssertionError(f"{mdp.name}: Q_pi for policy {policy} has lines, it should be pointed")
        points = [g[1:] for g in array if g[0] == 1]
        vertices += len(points)
        rays += len(array) - len(points)
        t_parts = [tuple(z[encoding.t_slice]) for z in points]
        for i in minimal_rows(t_parts):                # per policy first: bounded memory
            survivors.append((t_parts[i], policy, encoding.decode(points[i], mdp, discount)[1]))
    final = minimal_rows([row for row, _, _ in survivors])
    return VertexResult([survivors[i] for i in final], vertices, rays, in_cdd)


# -- checks outside the timings -----------------------------------------------------------

def check_vertex_rows(mdp: MDP, result: VertexResult) -> None:
    for coefficients, policy, witness in result.rows:
        if not is_uniformly_optimal(mdp, policy, witness):
            raise AssertionError(f"{mdp.name}: cdd witness {witness} does not make {policy} uniformly optimal")
        if coefficients != tuple(abs(w - r) for w, r in zip(witness, mdp.reward)):
            raise AssertionError(f"{mdp.name}: cdd row {coefficients} is not |R_hat - R|")


def min_over_rows(rows: Sequence[Vector], data: Vector) -> Fraction:
    return min(sum((c * d for c, d in zip(row, data)), Fraction(0)) for row in rows)


def compare(mdp: MDP, ours: Sequence[Vector], theirs: Sequence[Vector], samples: int) -> str:
    """``"="`` for identical row sets, ``"min="`` for the same ``min_k (M D)_k`` on every sample."""
    if set(ours) == set(theirs):
        return "="
    if not ours or not theirs:
        return "DIFFERENT"
    for k in range(samples):
        data = random_distribution(7919 * k + 1, mdp, zeros=(k % 3) / 3)
        if min_over_rows(ours, data) != min_over_rows(theirs, data):
            print(f"  {mdp.name}: min_k (M D)_k differs on D = {tuple(map(str, data))}", file=sys.stderr)
            return "DIFFERENT"
    return "min="


# -- the time budget -----------------------------------------------------------------------

@dataclass
class ExponentialBudget:
    """Predict ``seconds = units · rate(N)`` with ``log rate`` linear in ``N = |S×A|``."""

    seconds: float
    history: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def record(self, method: str, pairs: int, elapsed: float, units: int) -> None:
        self.history.setdefault(method, []).append((pairs, elapsed / max(units, 1)))

    def predict(self, method: str, pairs: int, units: int) -> float | None:
        points = self.history.get(method, [])
        if not points:
            return None
        n1, r1 = points[-1]
        growth = DEFAULT_GROWTH
        earlier = [(n, r) for n, r in points if n < n1]
        if earlier and r1 > 0:
            n0, r0 = earlier[-1]
            if r0 > 0:
                growth = max(1.0, (r1 / r0) ** (1 / (n1 - n0)))
        return r1 * growth ** max(0, pairs - n1) * max(units, 1)


# -- the run ----------------------------------------------------------------------------

def best_run(fn, *, repeat: int = 3, repeat_below: float = 2.0):
    """Like ``benchmarks.timing.best_time``, but returns the result of the fastest run,
    so that the cddlib share reported with it comes from the same run."""
    best, result = None, None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - start
        if best is None or elapsed < best:
            best, result = elapsed, value
        if best >= repeat_below:
            break
    return best, result


def parse_shape(text: str) -> tuple[int, int]:
    try:
        n, m = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a shape is STATESxACTIONS, e.g. 3x2, not {text!r}") from None
    if n < 1 or m < 1:
        raise argparse.ArgumentTypeError(f"a shape needs at least one state and one action, got {text!r}")
    return n, m


def instances(shapes: Sequence[tuple[int, int]], seeds: int, L: Fraction, with_figure4: bool):
    cases = [(load_model(FIGURE4).mdp, FIGURE4_L)] if with_figure4 else []
    cases += [(random_mdp(100 * n + m + 10_000 * k, n, m), L) for n, m in shapes for k in range(seeds)]
    return sorted(cases, key=lambda c: (c[0].n_pairs, c[0].n_states))


def predicted_text(seconds: float) -> str:
    return f"{seconds:.3g} s" if seconds < 1000 else f"{seconds:.0f} s"


def fmt_seconds(value: float | None, predicted: float | None = None) -> str:
    if value is None:
        return f"> {predicted_text(predicted)} (skip)" if predicted is not None else "–"
    return f"{value * 1000:.2f} ms" if value < 0.1 else f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def print_rows(mdp: MDP, rows: Sequence[Vector], label: str) -> None:
    print(f"  rows of M for {mdp.name} ({label}; flat pairs x = s*|A|+a):")
    for row in sorted(rows, key=lambda r: (sum(r), r)):
        print("    (" + ", ".join(str(v) for v in row) + ")")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", type=parse_shape, nargs="+", default=[parse_shape(s) for s in DEFAULT_SHAPES],
                        help=f"random MDP shapes STATESxACTIONS (default: {' '.join(DEFAULT_SHAPES)})",
                        metavar="NxM")
    parser.add_argument("--seeds", type=int, default=1, help="random MDPs per shape (default 1)")
    parser.add_argument("--regret", type=Fraction, default=Fraction(1, 2),
                        help="L for the random MDPs, as p/q (default 1/2; Figure 4 always uses 4/5)")
    parser.add_argument("--budget", type=float, default=180.0,
                        help="seconds one method may take on one instance, as predicted (default 180)")
    parser.add_argument("--form", choices=("reduced", "spec"), default="reduced",
                        help="H-representation of Q_pi handed to cddlib (default reduced)")
    parser.add_argument("--samples", type=int, default=200,
                        help="random D compared when the two row sets differ (default 200)")
    parser.add_argument("--show-rows", action="store_true", help="print every M (Figure 4's is always printed)")
    parser.add_argument("--no-figure4", action="store_true", help="leave out examples/figure4.toml")
    parser.add_argument("--methods", nargs="+", choices=("rewardcert", "cdd"), default=["rewardcert", "cdd"],
                        help="which constructions to run (default both; agreement needs both)")
    args = parser.parse_args(argv)
    if not 0 < args.regret <= 1:
        parser.error("--regret must satisfy 0 < L <= 1")

    cdd_modules = load_cdd() if "cdd" in args.methods else None
    if "cdd" in args.methods and cdd_modules is None:
        print("pycddlib >= 3.0 with its exact GMP module (cdd.gmp) is not installed; nothing to compare.\n"
              "It is an optional benchmark dependency: install the system's cddlib and GMP headers\n"
              "(Debian/Ubuntu: apt-get install libcdd-dev libgmp-dev), then pip install '.[bench]'.")
        return 0

    print("\n".join(machine(("python-flint", "pycddlib", "numpy"))))
    print(f"random MDPs: gamma 9/10, 3 successors per pair, integer rewards in [-10, 10], "
          f"L = {args.regret}, {args.seeds} seed(s) per shape; Figure 4 with L = {FIGURE4_L}")
    print(f"cddlib H-representation: {args.form}; budget {args.budget:g} s per method and instance\n")
    columns = ("S x A", "L", "#Pi_L", "rows of M", "rewardcert", "pycddlib (all)", "of which cddlib",
               "ratio", "vertices", "rays", "agree")
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---:" for _ in columns) + "|")

    budget = ExponentialBudget(args.budget)
    skipped: dict[str, str] = {}      # method -> first instance it was skipped on
    failures = 0
    summary = []
    for mdp, L in instances(args.shapes, args.seeds, args.regret, not args.no_figure4):
        N = mdp.n_pairs
        shape = f"{mdp.n_states}x{mdp.n_actions}"
        policies = high_regret_policies(mdp, L, return_bounds(mdp))
        units = {"rewardcert": 1, "cdd": len(policies)}
        predicted = {k: budget.predict(k, N, units[k]) for k in args.methods}
        run = {k: k in predicted and (predicted[k] is None or predicted[k] <= args.budget) for k in units}
        for k in predicted:
            if not run[k]:
                skipped.setdefault(k, shape)
        if not any(run.values()):
            print(f"| {shape} | {L} | {len(policies)} | – | {fmt_seconds(None, predicted.get('rewardcert'))} "
                  f"| {fmt_seconds(None, predicted.get('cdd'))} | – | – | – | – | – |")
            break

        ours = theirs = result = None
        t_ours = t_theirs = None
        if run["rewardcert"]:
            t_ours, matrix = best_time(lambda: safety_matrix(mdp, L, mark_redundant=False))
            budget.record("rewardcert", N, t_ours, 1)
            ours = [row.coefficients for row in matrix.rows]
            assert set(matrix.high_regret_policies) == set(policies)
        if run["cdd"]:
            t_theirs, result = best_run(lambda: matrix_by_vertices(mdp, L, args.form, cdd_modules))
            budget.record("cdd", N, t_theirs, len(policies))
            check_vertex_rows(mdp, result)
            theirs = [row for row, _, _ in result.rows]
        agree = compare(mdp, ours, theirs, args.samples) if ours is not None and theirs is not None else "–"
        failures += agree == "DIFFERENT"
        rows = len(ours if ours is not None else theirs)
        if t_ours and t_theirs:
            ratio = f"{t_theirs / t_ours:.1f}"
        elif t_ours and predicted.get("cdd") is not None:
            ratio = f"> {args.budget / t_ours:.0f} (est. {predicted['cdd'] / t_ours:.0f})"
        else:
            ratio = "–"
        print(f"| {shape}{' (Fig. 4)' if mdp.name == 'figure-4' else ''} | {L} | {len(policies)} | {rows} "
              f"| {fmt_seconds(t_ours, predicted.get('rewardcert'))} | {fmt_seconds(t_theirs, predicted.get('cdd'))} "
              f"| {fmt_seconds(result.cdd_seconds) if result else '–'} | {ratio} "
              f"| {result.vertices if result else '–'} | {result.rays if result else '–'} | {agree} |", flush=True)
        summary.append((mdp, ours, theirs))

    print("\nagree: '=' identical row sets (exactly, as sets of Fraction tuples); 'min=' different rows but the "
          f"same min_k (M D)_k on {args.samples} random exact D; '–' a method was skipped.")
    print("ratio: pycddlib (all) / rewardcert; '> k (est. e)' when pycddlib was skipped: k = budget / rewardcert "
          "is a lower bound if the prediction holds, e = predicted / rewardcert.")
    names = {"rewardcert": "rewardcert", "cdd": "pycddlib"}
    for method, shape in skipped.items():
        print(f"{names[method]}: skipped from {shape} on, its predicted time exceeding the {args.budget:g} s budget")
    for mdp, ours, theirs in summary:
        if mdp.name == "figure-4" or args.show_rows:
            print()
            print_rows(mdp, ours if ours is not None else theirs,
                       "rewardcert = pycddlib" if ours is not None and theirs is not None and set(ours) == set(theirs)
                       else "rewardcert" if ours is not None else "pycddlib")
    if failures:
        print(f"\n{failures} instance(s) where the two constructions DISAGREE (see stderr)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
