"""One façade over the engines, for the commands: load an instance with every input check, budget a
run by one rule, run the λ = 0 or the regularised search, and write its certificate through the one
write-and-replay path (``certificates.replay``).  Commands parse arguments and format results only.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import dataclass
from fractions import Fraction

from rewardcert.symbolic.core.errors import ModelError, RewardcertError
from rewardcert.symbolic.core.io import LoadedModel, load_model, resolve_data
from rewardcert.symbolic.core.model import MDP, Vector
from rewardcert.symbolic.core.policies import StochasticPolicy
from rewardcert.symbolic.core.results import Verdict

from .certificates import (
    CertificateTooLarge,
    check_certifiable,
    interval_certificate,
    threshold_certificate,
)
from .certificates.replay import write_checked
from .output import check_output_path

MAX_JOBS = 256
"""Most worker processes ``--jobs`` starts (each holds a copy of the model)."""


# -- the instance ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Instance:
    """A loaded model with its data distribution and, at λ > 0, its reference policy."""

    loaded: LoadedModel
    data: Vector | None
    reference: StochasticPolicy | None = None

    @property
    def mdp(self) -> MDP:
        return self.loaded.mdp

    @property
    def name(self) -> str:
        return self.loaded.mdp.name or self.loaded.path


def check_parameters(args: argparse.Namespace) -> None:
    """Range checks shared by every command: ``0 < L <= 1``, ``eps > 0``, ``lambda > 0``, a positive
    finite ``--timeout``, ``--jobs``."""
    from rewardcert.symbolic.core.parameters import (
        check_epsilon,
        check_lambda,
        check_regret_bound,
    )
    if getattr(args, "regret", None) is not None:
        check_regret_bound(args.regret)
    if getattr(args, "epsilon", None) is not None:
        check_epsilon(args.epsilon)
    lam = getattr(args, "lam", None)
    if lam is not None:
        check_lambda(lam)
    if getattr(args, "reference", None) is not None and lam is None and hasattr(args, "lam"):
        raise ModelError("--reference needs --lambda (it is the KL reference policy)", entry="--reference")
    timeout = getattr(args, "timeout", None)
    if timeout is not None and not 0 < timeout < float("inf"):
        raise ModelError("must be a positive number of seconds", entry="--timeout")
    jobs = getattr(args, "jobs", None)
    if jobs is not None:
        if not 1 <= jobs <= MAX_JOBS:
            raise ModelError(f"must be between 1 and {MAX_JOBS} processes, got {jobs}", entry="--jobs")
        if jobs > 1 and lam is not None:
            raise ModelError("--jobs applies to the lambda = 0 search only", entry="--jobs")
        if jobs > 1 and getattr(args, "max_nodes", None) is not None:
            raise ModelError("--max-nodes counts one search's nodes; use --timeout with --jobs", entry="--jobs")


def check_stdin_once(*paths: str | None) -> None:
    """``-`` (standard input) can stand for one input only."""
    if sum(path == "-" for path in paths) > 1:
        raise ModelError("only one input can be read from standard input ('-'); give the others as files")


def check_out_argument(args: argparse.Namespace, *, what: str = "certificate") -> None:
    """Refuse an ``--out`` that cannot be written before any work is done."""
    if getattr(args, "out", None):
        check_output_path(args.out, what=what)


def load_instance(args: argparse.Namespace, *, with_data: bool = True) -> Instance:
    """The model, ``D`` (``--data``: a file, ``uniform``, ``reference`` or the model's own table) and,
    with ``--lambda``, the reference policy, after every input check: the parameters' ranges, ``-``
    read at most once, the ``--out`` path, the checker's size limits (with ``--out``), and the
    preference error's setting (a bandit, ``--data reference``).  One loader for λ = 0 and λ > 0."""
    check_parameters(args)
    lam = getattr(args, "lam", None)
    data_arg = getattr(args, "data", None)
    error = getattr(args, "error", "absolute")
    if lam is None and (error == "preference" or data_arg == "reference"):
        flag = "--error preference" if error == "preference" else "--data reference"
        raise ModelError(f"{flag} needs --lambda (RLHF optimises with a KL penalty towards pi_ref)", entry=flag)
    check_stdin_once(args.model, data_arg, getattr(args, "reference", None))
    check_out_argument(args)
    loaded = _shared(args, ("model", args.model), lambda: load_model(args.model))
    mdp = loaded.mdp
    if getattr(args, "out", None):
        check_certifiable(mdp)
    reference = None
    if lam is not None:
        from rewardcert.symbolic.core.policyfile import resolve_reference
        reference = resolve_reference(getattr(args, "reference", None), mdp)
    if error == "preference":
        from rewardcert.symbolic.regularised.preference import check_bandit
        if data_arg != "reference":
            raise ModelError("the preference error is defined on D^ref = mu pi_ref only (Def C.27): "
                             "pass --data reference", entry="--data")
        try:
            check_bandit(mdp)
        except ModelError as exc:
            raise exc.located(file=loaded.path) from None
    if not with_data:
        return Instance(loaded, None, reference)
    if data_arg == "reference":
        from rewardcert.symbolic.regularised.preference import reference_data
        return Instance(loaded, reference_data(mdp, reference), reference)
    return Instance(loaded, resolve_data(data_arg, loaded), reference)


@dataclass(frozen=True)
class BanditInstance:
    """A contextual bandit (``γ = 0``, contexts weighted by ``μ0``) with the true reward ``R``, a proxy
    ``R̂`` (the estimate) and a full-support policy (the reference ``π_ref``, or an initial policy)."""

    loaded: LoadedModel
    estimate: Vector
    policy: StochasticPolicy
    estimate_path: str

    @property
    def mdp(self) -> MDP:
        return self.loaded.mdp

    @property
    def name(self) -> str:
        return self.loaded.mdp.name or self.loaded.path


def load_bandit_instance(args: argparse.Namespace, *, policy_option: str = "reference",
                         default_uniform: bool = True) -> BanditInstance:
    """``MODEL --estimate RHAT`` with a policy option (``--reference REF|uniform`` by default), every
    input checked before any work: the model is a bandit, the estimate has the same states,
    actions and ``μ0`` (only its reward may differ), the policy has full support, ``-`` is read at
    most once, and ``--out`` can be written.  Errors name the file and the entry (exit 2)."""
    from rewardcert.symbolic.core.policyfile import resolve_reference
    from rewardcert.symbolic.paper.measures import check_estimate
    from rewardcert.symbolic.regularised.preference import check_bandit
    check_parameters(args)
    spec = getattr(args, policy_option.replace("-", "_"), None)
    if spec is None and not default_uniform:
        raise ModelError(f"--{policy_option} POLICY is required", entry=f"--{policy_option}")
    check_stdin_once(args.model, args.estimate, spec)
    check_out_argument(args)
    loaded = load_model(args.model)
    try:
        check_bandit(loaded.mdp)
    except ModelError as exc:
        raise exc.located(file=loaded.path) from None
    estimate = load_model(args.estimate)
    try:
        check_estimate(loaded.mdp, estimate.mdp)
    except RewardcertError as exc:
        raise exc.located(file=estimate.path) from None
    try:
        policy = resolve_reference(spec, loaded.mdp)
    except ModelError as exc:
        raise (exc if exc.entry or exc.file else ModelError(exc.message, entry=f"--{policy_option}")) from None
    return BanditInstance(loaded, estimate.mdp.reward, policy, estimate.path)


def _shared(args: argparse.Namespace, key, make):
    """``make()``, computed once per sweep (``args.shared``, set by ``commands/sweep.py``; a plain run
    has none): the model is read once, ``J*`` and ``J^min`` solved once."""
    shared = getattr(args, "shared", None)
    if shared is None:
        return make()
    if key not in shared:
        shared[key] = make()
    return shared[key]


# -- the budget --------------------------------------------------------------------------------------

CERTIFICATE_SHARE = 0.4
"""With ``--out`` and ``--timeout``, the search gets the first 60% of the budget; building the
certificate and the checker's replay of it get the rest.  Both grow with the search tree: on the 4x4
lake stopped by ``--timeout 8``, 6 s of search made a certificate that took 2.2 s to build and more
than 1 s to replay (docs/performance.md)."""

REGULARISED_SECONDS = 60.0
"""The λ > 0 and preference searches' budget without ``--timeout``: their intervals only narrow with
time, so they need some limit (``threshold`` stops earlier once the interval is 1% wide)."""


def search_budget(args: argparse.Namespace, default: float | None = None) -> float | None:
    """The one budget rule: the seconds a search may still take, ``--timeout`` counted from the
    command's start less the certificate's share (``CERTIFICATE_SHARE``) when one is to be written;
    ``default`` without ``--timeout``."""
    timeout = getattr(args, "timeout", None)
    if timeout is None:
        return default
    share = CERTIFICATE_SHARE if getattr(args, "out", None) else 0.0
    return max(0.0, timeout * (1 - share) - (time.monotonic() - getattr(args, "started", time.monotonic())))


def command_deadline(args: argparse.Namespace) -> float | None:
    """When ``--timeout`` runs out for the whole command (None without one)."""
    timeout = getattr(args, "timeout", None)
    return None if timeout is None else getattr(args, "started", time.monotonic()) + timeout


def searching(args: argparse.Namespace):
    """The context a long search runs in: there the first Ctrl-C or SIGTERM only asks it to stop, like
    ``--timeout`` (``rewardcert/interrupts.py``); it yields the ``stop()`` to poll (``None`` outside the CLI)."""
    interrupts = getattr(args, "interrupts", None)
    return interrupts.searching() if interrupts is not None else contextlib.nullcontext(None)


def write_certificate(args: argparse.Namespace, document: dict) -> bool:
    """Replay ``document`` in the checker and write it to ``--out`` (``-``: standard output), within
    ``--timeout``; False if the replay was cut short (then it is written unreplayed)."""
    return write_checked(args.out, document, stdout=getattr(args, "stdout", None), deadline=command_deadline(args))


# -- the λ = 0 search ----------------------------------------------------------------------------------

MILP_SEED_FROM = 4 ** 6               # below this the exact search is faster than building the MILP
MILP_SEED_SECONDS = 2.0               # HiGHS then hands over its best feasible policy, which the search polishes
MILP_SEED_MIN_SECONDS = 0.5           # with --timeout: a smaller share of it gets no seed
# (symbolic/guidance/incumbent.py).  With the polish, 2 s beat 10 s on every random 12x4 instance of the
# benchmark, by 1.7-8 s in total, and the 4x4 lake at L = 3/4 needed the same tree (204,119 nodes against 204,740).
DECIDE_ONLY_FROM = 4 ** 8             # above this, certify decides eps without computing eps*(D)


def exact_search(args: argparse.Namespace, instance: Instance, *, progress=None):
    """The exact λ = 0 search (``ThresholdResult``), seeded with the floating MILP's policy on large
    models; Ctrl-C or SIGTERM stops it like ``--timeout``, keeping the interval.  ``certify`` above
    ``DECIDE_ONLY_FROM`` policies decides its ``ε`` without computing ``ε*(D)``."""
    from rewardcert.symbolic.guidance.floatvi import return_bounds
    from rewardcert.symbolic.search.engine import critical_epsilon
    from rewardcert.symbolic.search.finish import FINISH_FRACTION
    mdp, data = instance.mdp, instance.data
    bounds = _shared(args, ("bounds", id(mdp)), lambda: return_bounds(mdp))
    # In a sweep, the rows before this one proposed witnesses: each is verified again here (a member
    # of this row's Pi_L, or ignored), and the MILP runs only while no row has found one.
    earlier = _shared(args, ("witnesses", id(mdp), id(data)), list)
    seeds = list(earlier) or milp_seed(args, instance, bounds)
    occupancy = getattr(args, "shared", {}).get(("occupancy", id(mdp))) if getattr(args, "shared", None) else None
    remaining = search_budget(args)     # with --out, a share of --timeout stays for the certificate
    finish = None
    if remaining is not None:
        # The search proper, then the open families' bounds (the finishing budget), both within it.
        finish = remaining * FINISH_FRACTION / (1 + FINISH_FRACTION)
        remaining -= finish
    decide = getattr(args, "epsilon", None) if mdp.n_deterministic_policies > DECIDE_ONLY_FROM else None
    with searching(args) as stop:
        if getattr(args, "jobs", 1) > 1:
            from rewardcert.symbolic.search.parallel import parallel_critical_epsilon
            return parallel_critical_epsilon(mdp, data, args.regret, jobs=args.jobs, bounds=bounds,
                                             progress=progress, max_seconds=remaining, stop=stop,
                                             seed_policies=seeds, decide_epsilon=decide, refine=True,
                                             finish_seconds=finish)
        max_nodes = getattr(args, "max_nodes", None)
        result = critical_epsilon(mdp, data, args.regret, bounds=bounds, progress=progress, max_seconds=remaining,
                                  max_nodes=max_nodes, stop=stop, seed_policies=seeds, occupancy=occupancy,
                                  decide_epsilon=decide, refine=max_nodes is None, finish_seconds=finish)
    if getattr(args, "shared", None) is not None:
        # H(s) >= d^pi(s) holds for every policy whatever L is, and a witness of any row may seed the next
        args.shared[("occupancy", id(mdp))] = result.occupancy or occupancy
        if result.witness is not None and result.witness.policy not in earlier:
            earlier.append(result.witness.policy)
    return result


def milp_seed(args: argparse.Namespace, instance: Instance, bounds) -> list:
    """The floating MILP's minimiser as a candidate first incumbent (verified exactly by the search),
    or nothing when the model is small, the user declined, or PuLP/HiGHS is unavailable."""
    mdp = instance.mdp
    if getattr(args, "no_milp_seed", False) or mdp.n_deterministic_policies <= MILP_SEED_FROM or bounds.degenerate:
        return []
    limit = MILP_SEED_SECONDS
    if getattr(args, "timeout", None) is not None:
        # a quarter of what the search may still take, and no seed at all where that is too little
        # to load PuLP and HiGHS and build the MILP (a sub-second --timeout used to overrun by 1 s here)
        limit = min(MILP_SEED_SECONDS, (search_budget(args) or 0.0) / 4)
        if limit < MILP_SEED_MIN_SECONDS:
            return []
    try:
        from rewardcert import lp
        milp = lp.solve_milp(mdp, instance.data, args.regret, bounds=bounds, time_limit=limit)
    except RewardcertError:     # no backend, or the solver failed: the exact search needs no seed
        return []
    return [milp.policy] if milp.policy is not None else []


def write_threshold_certificate(args: argparse.Namespace, instance: Instance, result
                                ) -> tuple[str | None, str | None, bool]:
    """Write ``result``'s certificate (threshold, or interval for a stopped search); when it is too
    large for the checker, write the root-level interval certificate instead: the root family's own
    bounds and the witness, a weaker but certified ``[lo', hi]``.  Returns
    ``(path written, note, replayed)``."""
    from rewardcert.symbolic.core.numbers import with_decimal
    from rewardcert.symbolic.search.engine import critical_epsilon

    from .certificates import not_replayed
    mdp, data = instance.mdp, instance.data

    def write(document: dict, note: str | None = None) -> tuple[str, str | None, bool]:
        replayed = write_certificate(args, document)
        if not replayed:
            note = not_replayed(args.out) if note is None else f"{note}; {not_replayed(args.out)}"
        return args.out, note, replayed

    full = threshold_certificate if result.complete else interval_certificate
    try:
        return write(full(mdp, data, args.regret, result))
    except CertificateTooLarge as too_large:
        reason = str(too_large).split("; ")[0]
    seeds = [result.witness.policy] if result.witness is not None else []
    coarse = critical_epsilon(mdp, data, args.regret, bounds=result.bounds, max_seconds=0, seed_policies=seeds,
                              occupancy=result.occupancy)
    if coarse.complete:      # the root closed at once: that is the whole answer
        return write(threshold_certificate(mdp, data, args.regret, coarse))
    return write(interval_certificate(mdp, data, args.regret, coarse),
                 f"{reason}, so the certificate written covers the root family only: it proves "
                 f"eps*(D) in [{with_decimal(coarse.lower_bound)}, {with_decimal(coarse.upper_bound)}]")


# -- the mean-squared error at λ = 0 (App. B.3) ---------------------------------------------------------

def squared_search(args: argparse.Namespace, instance: Instance):
    """``ε*_MSE(D)`` exactly (``symbolic/search/squared.py``): a ``SquaredResult``; ``SquaredUnsettled``
    if ``--timeout`` or an interrupt stops the enumeration, or a policy's QP is not settled."""
    from rewardcert.symbolic.search.squared import squared_threshold
    remaining = search_budget(args)
    deadline = None if remaining is None else time.monotonic() + remaining
    with searching(args) as stop:
        def stopped() -> bool:
            return (stop is not None and stop()) or (deadline is not None and time.monotonic() > deadline)
        return squared_threshold(instance.mdp, instance.data, args.regret, stop=stopped)


# -- the regularised searches (λ > 0, preference error) ------------------------------------------------

def regularised_search(args: argparse.Namespace, instance: Instance, epsilon: Fraction | None = None,
                       progress=None):
    """``certify`` (at ``epsilon``) or ``threshold`` (``epsilon`` None) with ``--lambda``: the
    KL-regularised search, or RLHF's with ``--error preference``; a ``RegularisedResult``."""
    timeout = search_budget(args, REGULARISED_SECONDS)
    mdp, reference = instance.mdp, instance.reference
    preference = getattr(args, "error", "absolute") == "preference"
    with searching(args) as stop:
        if preference and epsilon is not None:
            from rewardcert.symbolic.regularised.preference import rlhf_certify
            return rlhf_certify(mdp, epsilon, args.regret, args.lam, reference, timeout=timeout, stop=stop)
        if preference:
            from rewardcert.symbolic.regularised.preference import rlhf_threshold
            return rlhf_threshold(mdp, args.regret, args.lam, reference, timeout=timeout, stop=stop)
        from rewardcert.symbolic.regularised.verdicts import (
            regularised_certify,
            regularised_threshold,
        )
        if epsilon is not None:
            return regularised_certify(mdp, instance.data, epsilon, args.regret, args.lam, reference,
                                       timeout=timeout, progress=progress, stop=stop)
        return regularised_threshold(mdp, instance.data, args.regret, args.lam, reference, timeout=timeout,
                                     progress=progress, stop=stop)


def write_regularised_certificate(args: argparse.Namespace, instance: Instance, result,
                                  epsilon: Fraction | None) -> tuple[str | None, bool]:
    """``(path written, replayed)`` of a regularised result's certificate (``--out``), none for an
    unknown verdict at ``epsilon``."""
    from .certificates import regularised_certificate
    if not args.out or (epsilon is not None and result.verdict(epsilon) is Verdict.UNKNOWN):
        return None, True
    return args.out, write_certificate(args, regularised_certificate(instance.mdp, instance.data, args.regret,
                                                                     result, epsilon))


# -- heavy-tailed error under a KL penalty (rewardcert goodhart) ------------------------------------

def goodhart_analysis(args: argparse.Namespace, options, *, bandit=None, family=None, sizes=None, progress=None):
    """The analysis of one bandit (``GoodhartReport``) or of a family's members (``FamilyReport``),
    within ``--timeout`` (less the certificate's share with ``--out``) and stopped by Ctrl-C or SIGTERM
    like it: what was computed before is kept, marked incomplete."""
    from rewardcert.symbolic.optimisers.goodhart import analyse, analyse_family
    budget = search_budget(args)
    deadline = None if budget is None else time.monotonic() + budget
    with searching(args) as interrupted:
        def stop() -> bool:
            return bool(interrupted is not None and interrupted()) or \
                (deadline is not None and time.monotonic() >= deadline)
        if family is not None:
            return analyse_family(family, sizes, options, stop=stop, progress=progress)
        return analyse(bandit, options, stop=stop)


__all__ = ["Instance", "load_instance", "BanditInstance", "load_bandit_instance", "check_parameters", "search_budget", "command_deadline", "searching",
           "write_certificate", "exact_search", "milp_seed", "write_threshold_certificate", "regularised_search",
           "squared_search", "write_regularised_certificate", "goodhart_analysis"]
