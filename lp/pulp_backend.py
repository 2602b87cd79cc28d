"""The fence around PuLP: the only module of rewardcert that imports it.

Everything the LP layer asks of a numerical solver goes through the small,
solver-neutral API below, so that no other module ever sees a PuLP object:

* ``Model`` collects variables and constraints as integer handles with float
  data.  Every number is checked (finite, bounds ordered) when it is added,
  so NaN or ±inf never reaches a solver; the PuLP problem is only built inside
  ``Model.solve``.
* ``Model.solve`` returns a frozen ``Solution``: a ``Status``, the objective,
  one value per variable and, for a pure LP, one dual per constraint.
* When the solver exposes it (HiGHS, pure LP), the optimal simplex basis
  comes back too, as per-variable and per-constraint statuses; the fast path
  uses it to rebuild the exact vertex.
* Duals follow one convention whatever the solver: ``duals[i]`` is the
  sensitivity ``∂ objective / ∂ rhs_i`` of the optimal objective, in the
  model's own sense (maximise or minimise).  For a maximisation with a ``<=``
  row it is therefore ``≥ 0``.  PuLP passes each solver's own sign through;
  ``_DUAL_SIGN`` records, per solver, how it relates to this convention (the
  test suite checks it on a tiny LP for every solver that is installed).

Solvers: HiGHS through ``highspy`` (``pulp.HiGHS``) is the default; it
measured about 5x faster than CBC on MDP-shaped LPs here.  CBC (PuLP's
bundled ``PULP_CBC_CMD``, or a ``cbc`` binary on the path through
``COIN_CMD``) is the fallback when ``highspy`` is missing.

A solution is only ``OPTIMAL`` when the solver says the *solution* is optimal
(PuLP's ``sol_status``): PuLP reports a HiGHS time-out or interrupt with model
status "Optimal", so the model status alone is never trusted.
"""

from __future__ import annotations

import enum
import math
import time
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Sequence

from rewardcert.symbolic.core.errors import BackendUnavailable, RewardcertError
from rewardcert.symbolic.guidance.highs import quiet_stdout

INSTALL_HINT = "pip install pulp highspy"

HIGHS, CBC = "highs", "cbc"
SOLVERS = (HIGHS, CBC)

# Tolerances handed to the solvers: tighter than their defaults, because every
# answer is either compared to the exact engine at 1e-7 or rationalised.
FEASIBILITY_TOLERANCE = 1e-9
MIP_GAP = 1e-9

# solver -> factor turning its reported row dual into ∂obj/∂rhs, per objective sense.
_DUAL_SIGN = {
    (HIGHS, "min"): 1.0, (HIGHS, "max"): -1.0,
    (CBC, "min"): 1.0, (CBC, "max"): 1.0,
}


class Status(enum.Enum):
    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NOT_SOLVED = "not solved"     # time-out, interrupt, numerical trouble: never an answer
    FEASIBLE = "feasible"         # a MILP's time limit ran out holding an integer-feasible point (a hint)


@dataclass(frozen=True)
class Solution:
    """What a solver said about a ``Model``; floats, to be judged or rationalised by the caller."""

    status: Status
    solver: str
    objective: float | None
    values: tuple[float, ...]            # one per variable handle (NaN when the solver gave none)
    duals: tuple[float, ...] | None      # one per constraint handle, ∂obj/∂rhs; None for a MILP
    seconds: float
    # The optimal simplex basis, when the solver exposes it (HiGHS, pure LP): per variable and per
    # constraint one of "basic", "lower", "upper", "zero", "nonbasic".  A hint only, like the values.
    basis: tuple[str, ...] | None = None
    row_basis: tuple[str, ...] | None = None

    @property
    def optimal(self) -> bool:
        return self.status is Status.OPTIMAL


def load_pulp() -> ModuleType:
    """The pulp module, or ``BackendUnavailable`` saying how to install it."""
    try:
        import pulp
    except ImportError as exc:
        raise BackendUnavailable(f"the LP backend needs PuLP ({exc}); install it with: {INSTALL_HINT}") from None
    return pulp


def _solver_factory(name: str):
    """A callable ``(mip, time_limit) -> pulp solver`` for ``name``, or None when it is not usable."""
    pulp = load_pulp()
    if name == HIGHS:
        if not hasattr(pulp, "HiGHS") or not pulp.HiGHS(msg=False).available():
            return None

        def make(mip: bool, time_limit: float | None, presolve: bool = True):
            return pulp.HiGHS(msg=False, mip=mip, timeLimit=time_limit, gapRel=MIP_GAP if mip else None,
                              gapAbs=MIP_GAP if mip else None,
                              primal_feasibility_tolerance=FEASIBILITY_TOLERANCE,
                              dual_feasibility_tolerance=FEASIBILITY_TOLERANCE,
                              mip_feasibility_tolerance=FEASIBILITY_TOLERANCE,
                              presolve="on" if presolve else "off")
        return make
    if name == CBC:
        # A ``cbc`` on the path (COIN_CMD) first; PuLP's bundled binary (PULP_CBC_CMD, deprecated
        # in PuLP 3.x and announced to go in 4.0) second.
        for cls_name in ("COIN_CMD", "PULP_CBC_CMD"):
            cls = getattr(pulp, cls_name, None)
            if cls is None:
                continue

            def make(mip: bool, time_limit: float | None, presolve: bool = True, cls=cls):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    return cls(msg=False, mip=mip, timeLimit=time_limit, gapRel=MIP_GAP if mip else None,
                               gapAbs=MIP_GAP if mip else None, presolve=None if presolve else False,
                               options=[f"primalTolerance {FEASIBILITY_TOLERANCE}",
                                        f"dualTolerance {FEASIBILITY_TOLERANCE}",
                                        f"integerTolerance {FEASIBILITY_TOLERANCE}"])
            try:
                if not make(False, None).available():
                    continue
            except Exception:           # a broken or missing binary is simply "not available"
                continue
            return make
        return None
    raise RewardcertError(f"unknown LP solver {name!r}; choose one of {', '.join(SOLVERS)}")


def available_solvers() -> tuple[str, ...]:
    """The usable solvers, in order of preference (empty if PuLP itself is missing)."""
    try:
        load_pulp()
    except BackendUnavailable:
        return ()
    return tuple(name for name in SOLVERS if _solver_factory(name) is not None)


def default_solver() -> str:
    """HiGHS if ``highspy`` works, else CBC; ``BackendUnavailable`` if neither does."""
    try:
        if _solver_factory(HIGHS) is not None:
            return HIGHS
    except BackendUnavailable:
        pass
    solvers = available_solvers()
    if not solvers:
        load_pulp()   # raises with the install hint if PuLP is the missing piece
        raise BackendUnavailable("PuLP is installed but neither HiGHS nor CBC can be run; "
                                 "install HiGHS with: pip install highspy")
    return solvers[0]


def _finite(value: float, what: str) -> float:
    try:
        number = float(value)
    except OverflowError:
        shown = str(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise RewardcertError(f"{what} is too large for a floating-point solver: {shown}") from None
    except (TypeError, ValueError):
        raise RewardcertError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise RewardcertError(f"{what} is {number}; a solver only accepts finite numbers")
    return number


_SENSES = ("<=", ">=", "==")


class Model:
    """A linear (or mixed-integer) program under construction, with validated float data.

    Variables and constraints are integer handles, in the order they were
    added.  ``None`` as a bound means unbounded on that side.
    """

    def __init__(self, name: str = "rewardcert", *, maximise: bool = False):
        self.name = name
        self.maximise = maximise
        self._bounds: list[tuple[float | None, float | None]] = []
        self._integer: list[bool] = []
        self._rows: list[tuple[tuple[tuple[int, float], ...], str, float]] = []
        self._objective: tuple[tuple[int, float], ...] = ()

    @property
    def n_variables(self) -> int:
        return len(self._bounds)

    @property
    def n_constraints(self) -> int:
        return len(self._rows)

    @property
    def is_mip(self) -> bool:
        return any(self._integer)

    def add_variable(self, low: float | None = None, high: float | None = None, *, integer: bool = False) -> int:
        lo = None if low is None else _finite(low, f"lower bound of variable {len(self._bounds)}")
        hi = None if high is None else _finite(high, f"upper bound of variable {len(self._bounds)}")
        if lo is not None and hi is not None and lo > hi:
            raise RewardcertError(f"variable {len(self._bounds)} has empty bounds [{lo}, {hi}]")
        self._bounds.append((lo, hi))
        self._integer.append(bool(integer))
        return len(self._bounds) - 1

    def add_binary(self) -> int:
        return self.add_variable(0.0, 1.0, integer=True)

    def _terms(self, terms: Sequence[tuple[int, float]], what: str) -> tuple[tuple[int, float], ...]:
        merged: dict[int, float] = {}
        for var, coefficient in terms:
            if not (isinstance(var, int) and 0 <= var < len(self._bounds)):
                raise RewardcertError(f"internal error: {what} names unknown variable {var!r}")
            merged[var] = merged.get(var, 0.0) + _finite(coefficient, f"coefficient of variable {var} in {what}")
        return tuple((var, c) for var, c in merged.items() if c != 0.0)

    def add_constraint(self, terms: Sequence[tuple[int, float]], sense: str, rhs: float) -> int:
        """``Σ coefficient · variable  sense  rhs`` with ``sense`` one of ``<=``, ``>=``, ``==``."""
        index = len(self._rows)
        if sense not in _SENSES:
            raise RewardcertError(f"internal error: constraint sense must be one of {_SENSES}, got {sense!r}")
        self._rows.append((self._terms(terms, f"constraint {index}"), sense,
                           _finite(rhs, f"right-hand side of constraint {index}")))
        return index

    def set_objective(self, terms: Sequence[tuple[int, float]]) -> None:
        self._objective = self._terms(terms, "the objective")

    # -- solving -------------------------------------------------------------
    def solve(self, solver: str | None = None, *, time_limit: float | None = None,
              presolve: bool = True) -> Solution:
        """Solve with ``solver`` (default: ``default_solver()``); never raises for a solver failure,
        which comes back as ``Status.NOT_SOLVED``.  ``presolve=False`` switches the solver's
        presolve off (a second opinion when presolve's tolerances misjudge a tight model)."""
        pulp = load_pulp()
        name = solver or default_solver()
        factory = _solver_factory(name)
        if factory is None:
            raise BackendUnavailable(f"the LP solver {name!r} is not available here; "
                                     f"available: {', '.join(available_solvers()) or 'none'} "
                                     f"(install with: {INSTALL_HINT})")
        mip = self.is_mip
        problem = pulp.LpProblem(self.name, pulp.LpMaximize if self.maximise else pulp.LpMinimize)
        width = len(str(max(len(self._bounds), len(self._rows), 1)))
        # PuLP 3.x deprecates constructing LpVariable directly in favour of LpProblem.add_variable.
        new_variable = getattr(problem, "add_variable", None) or pulp.LpVariable
        variables = [new_variable(f"v{i:0{width}d}", lowBound=lo, upBound=hi,
                                  cat=pulp.LpInteger if integer else pulp.LpContinuous)
                     for i, ((lo, hi), integer) in enumerate(zip(self._bounds, self._integer))]
        used = {v for v, _ in self._objective} | {v for terms, _, _ in self._rows for v, _ in terms}
        problem += pulp.LpAffineExpression([(variables[v], c) for v, c in self._objective])
        senses = {"<=": pulp.LpConstraintLE, ">=": pulp.LpConstraintGE, "==": pulp.LpConstraintEQ}
        constraints = []
        for i, (terms, sense, rhs) in enumerate(self._rows):
            row = pulp.LpConstraint(pulp.LpAffineExpression([(variables[v], c) for v, c in terms]),
                                    senses[sense], name=f"c{i:0{width}d}", rhs=rhs)
            problem += row
            constraints.append(row)
        started = time.perf_counter()
        try:
            with quiet_stdout(name == HIGHS):
                problem.solve(factory(mip, time_limit, presolve))
        except (pulp.PulpSolverError, OSError):
            return Solution(Status.NOT_SOLVED, name, None, (math.nan,) * len(variables), None,
                            time.perf_counter() - started)
        seconds = time.perf_counter() - started
        status = _status(pulp, problem)
        # A variable in no row and not in the objective never reaches the solver: any point of
        # its bounds is optimal, and the one nearest 0 is reported.
        values = tuple(float(v.varValue) if v.varValue is not None
                       else (_nearest_zero(*self._bounds[i]) if i not in used else math.nan)
                       for i, v in enumerate(variables))
        objective = None
        duals = None
        if status is Status.FEASIBLE:
            objective = float(sum(c * values[v] for v, c in self._objective))
            if not all(math.isfinite(x) for x in values):
                status, objective = Status.NOT_SOLVED, None
        if status is Status.OPTIMAL:
            objective = float(sum(c * values[v] for v, c in self._objective))
            if not mip:
                sign = _DUAL_SIGN[(name, "max" if self.maximise else "min")]
                duals = tuple(math.nan if row.pi is None else sign * float(row.pi) for row in constraints)
            if not all(math.isfinite(x) for x in values):
                status = Status.NOT_SOLVED
        basis = row_basis = None
        if status is Status.OPTIMAL and not mip and name == HIGHS:
            basis, row_basis = _highs_basis(problem, variables, constraints)
        return Solution(status, name, objective, values, duals, seconds, basis, row_basis)


def _nearest_zero(lo: float | None, hi: float | None) -> float:
    return max(lo, 0.0) if lo is not None and lo > 0 else (min(hi, 0.0) if hi is not None and hi < 0 else 0.0)


_BASIS_NAMES = {"kBasic": "basic", "kLower": "lower", "kUpper": "upper", "kZero": "zero", "kNonbasic": "nonbasic"}


def _highs_basis(problem, variables, constraints) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The optimal basis from the highspy model PuLP kept, mapped back to our handles."""
    try:
        basis = problem.solverModel.getBasis()
        if not basis.valid:
            return None, None
        cols = [_BASIS_NAMES.get(status.name, "nonbasic") for status in basis.col_status]
        rows = [_BASIS_NAMES.get(status.name, "nonbasic") for status in basis.row_status]
        return tuple(cols[v.index] for v in variables), tuple(rows[c.index] for c in constraints)
    except Exception:          # an optional hint: any surprise in the bindings just means "no basis"
        return None, None


def _status(pulp: ModuleType, problem) -> Status:
    if problem.sol_status == pulp.LpSolutionOptimal and problem.status == pulp.LpStatusOptimal:
        return Status.OPTIMAL
    if problem.status == pulp.LpStatusInfeasible or problem.sol_status == pulp.LpSolutionInfeasible:
        return Status.INFEASIBLE
    if problem.status == pulp.LpStatusUnbounded or problem.sol_status == pulp.LpSolutionUnbounded:
        return Status.UNBOUNDED
    if problem.sol_status == getattr(pulp, "LpSolutionIntegerFeasible", None):
        return Status.FEASIBLE
    return Status.NOT_SOLVED
