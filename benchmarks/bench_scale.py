"""Issue 9's scale targets: exact certified ε*(D) against the floating HiGHS MILP, in one run.

For each instance and ``L``: the floating MILP (``lp.solve_milp``, HiGHS, the
float ``ε*`` estimate and its time), then the exact search as ``rewardcert
threshold`` runs it (seeded with the MILP's policy, dynamic branching), with a
time budget; then its certificate is built and replayed by the standalone
checker (``proofs/checker.py``, in-process). The floating comparator is the
MILP with a 30 s limit; the exact path runs its own seed MILP with the
command's 2 s limit. "exact / MILP" is the exact path's wall time (its seed
MILP included) over the comparator's.

Parts (``--parts``):

* ``grid``: the 4×4 gridworld (``examples/gridworld4x4.toml``), the 4×4
  slippery FrozenLake-style map (``benchmarks.environments.frozen_lake(4, 0)``)
  and Gymnasium's FrozenLake-v1 4×4 (``examples/frozenlake4x4.toml``), uniform
  ``D``, ``L ∈ {1/4, 1/2, 3/4}``;
* ``random``: a random 12-state, 4-action MDP (``random_mdp(12000, 12, 4)``,
  ``γ = 9/10``), uniform and random positive ``D``,
  ``L ∈ {1/10, 1/4, 1/2, 3/4, 1}``;
* ``jobs``: ``--jobs 2`` against ``--jobs 1`` (``parallel_critical_epsilon``
  against ``critical_epsilon``) on the instances above that took the longest;
* ``fixed``: the same search with the fixed branching order, for the ratio
  dynamic / fixed;
* ``ablation``: the search with the duplicate-action reduction
  (``merge_duplicates``, symbolic/exact/duplicates.py) and the in-search regret-aware
  bound (``regret_aware``) each switched off, and both, on three instances,
  seeded alike;
* ``commands``: the whole ``rewardcert threshold ... -o CERT`` command on the ``grid`` models, in a
  fresh process each (start-up, seed, search, certificate built, replayed and written), with
  ``--jobs 1`` and ``--jobs 2``, run to the end, and the standalone checker run again on the file
  written;
* ``compiled``: the same serial command with symbolic/guidance/floatjit.py's compiled float loops and with
  numpy only (``REWARDCERT_NO_JIT=1``);
* ``family``: the search with the family occupancy bounds (format §3.7a,
  ``family_occupancy``) off and on, run to the end (``--family-budget`` caps
  it), from one seed, with the checker's time on each certificate.

    python -m benchmarks.bench_scale [--budget 60] [--parts grid random jobs fixed ablation family commands compiled]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from fractions import Fraction

from rewardcert.proofs import checker
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import uniform_distribution
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.parallel import parallel_critical_epsilon

from benchmarks.common import random_distribution, random_mdp
from benchmarks.environments import frozen_lake
from benchmarks.timing import machine
from rewardcert.certificates import (
    CertificateTooLarge,
    certificate_text,
    interval_certificate,
    threshold_certificate,
)


def grid_instances():
    grid = load_model("examples/gridworld4x4.toml").mdp
    yield "gridworld 4x4", grid, uniform_distribution(grid)
    lake = frozen_lake(4, 0)
    yield "FrozenLake-style 4x4 (slippery)", lake, uniform_distribution(lake)
    gym = load_model("examples/frozenlake4x4.toml").mdp
    yield "Gymnasium FrozenLake-v1 4x4", gym, uniform_distribution(gym)


def random_instances():
    mdp = random_mdp(12000, 12, 4)
    yield "random 12x4, uniform D", mdp, uniform_distribution(mdp)
    yield "random 12x4, random D", mdp, random_distribution(1, mdp, zeros=0)


def show(result) -> str:
    if result.complete:
        return "ε* = inf" if result.critical_epsilon is None else "ε* = %.6g" % float(result.critical_epsilon)
    hi = "inf" if result.upper_bound is None else "%.6g" % float(result.upper_bound)
    return f"[{float(result.lower_bound):.3g}, {hi}]"


MILP_LIMIT = 30.0        # the floating comparator's time limit
SEED_LIMIT = 2.0         # the seed's, as rewardcert certify/threshold use it (MILP_SEED_SECONDS)


def milp_seed(mdp, data, L, bounds, limit):
    from rewardcert import lp
    start = time.perf_counter()
    milp = lp.solve_milp(mdp, data, L, bounds=bounds, time_limit=limit)
    return milp, time.perf_counter() - start


def replay(mdp, data, L, result) -> tuple[float, int]:
    """Build the certificate and check it: (seconds, bytes as ``rewardcert`` writes them; a
    certificate over the checker's size limit is measured as compact JSON)."""
    document = threshold_certificate(mdp, data, L, result) if result.complete else \
        interval_certificate(mdp, data, L, result)
    try:
        text = certificate_text("benchmark", document)
    except CertificateTooLarge:
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    start = time.perf_counter()
    status, message, _ = checker.check_document(json.loads(text))
    seconds = time.perf_counter() - start
    if status != "verified":
        raise SystemExit(f"certificate {status}: {message}")
    return seconds, len(text.encode("utf-8"))


def run_table(instances, regrets, budget, *, branching="dynamic", rows=None) -> None:
    print("| instance | L | MILP ε* (float) | MILP | exact result | exact (MILP incl.) | exact / MILP | "
          "nodes | check | certificate |")
    print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for name, mdp, data in instances:
        bounds = return_bounds(mdp)
        for L in regrets:
            milp, t_milp = milp_seed(mdp, data, L, bounds, MILP_LIMIT)
            # The exact path as the command runs it: a seed MILP of at most SEED_LIMIT s, then the search.
            start = time.perf_counter()
            seed, _ = milp_seed(mdp, data, L, bounds, SEED_LIMIT)
            seeds = [seed.policy] if seed.policy is not None else []
            result = critical_epsilon(mdp, data, L, bounds=bounds, max_seconds=budget, seed_policies=seeds,
                                      branching=branching)
            t_exact = time.perf_counter() - start
            t_check, size = replay(mdp, data, L, result)
            estimate = "nan" if milp.critical_epsilon != milp.critical_epsilon else "%.6g" % milp.critical_epsilon
            status = "" if milp.status.value == "optimal" else f" ({milp.status.value})"
            print(f"| {name} | {L} | {estimate}{status} | {t_milp:.2f} s | {show(result)} | {t_exact:.2f} s | "
                  f"{t_exact / t_milp:.1f} | {result.stats.nodes} | {t_check:.2f} s | {size / 1e6:.2f} MB |",
                  flush=True)
            if rows is not None:
                rows.append((name, mdp, data, L, seeds, t_exact))


def run_jobs(rows, budget, count: int = 4) -> None:
    print("| instance | L | --jobs 1 | --jobs 2 | speed-up | same answer |")
    print("|---|---|---:|---:|---:|---|")
    slow = sorted((r for r in rows if r[5] > 2.0), key=lambda r: -r[5])[:count]
    for name, mdp, data, L, seeds, _ in slow:
        bounds = return_bounds(mdp)
        start = time.perf_counter()
        one = critical_epsilon(mdp, data, L, bounds=bounds, max_seconds=budget, seed_policies=seeds)
        t_one = time.perf_counter() - start
        start = time.perf_counter()
        two = parallel_critical_epsilon(mdp, data, L, jobs=2, bounds=bounds, max_seconds=budget,
                                        seed_policies=seeds)
        t_two = time.perf_counter() - start
        same = (one.complete and two.complete and one.critical_epsilon == two.critical_epsilon)
        print(f"| {name} | {L} | {t_one:.2f} s ({show(one)}) | {t_two:.2f} s ({show(two)}) | "
              f"{t_one / t_two:.2f} | {'yes' if same else 'n/a (unfinished)'} |", flush=True)


JOBS_VARIANTS = (("1", 1, {}), ("2", 2, {}))
COMPILED_VARIANTS = (("1, compiled", 1, {}), ("1, numpy only", 1, {"REWARDCERT_NO_JIT": "1"}))
"""The ``commands`` part runs ``--jobs 1`` and ``--jobs 2``; the ``compiled`` part runs ``--jobs 1``
with symbolic/guidance/floatjit.py's compiled loops and without them (``REWARDCERT_NO_JIT=1``)."""


def run_commands(budget, variants=JOBS_VARIANTS) -> None:
    """The whole command as a user runs it, in a fresh process: ``rewardcert threshold MODEL --data
    uniform --regret L -o CERT`` (start-up, seed MILP, search, certificate built, replayed in the
    checker and written), once per variant ``(label, jobs, environment)``, run to the end (no
    ``--timeout``, which would let a long replay be skipped); then ``python -I -S proofs/checker.py
    CERT`` on the file."""
    import subprocess
    import tempfile

    from rewardcert.symbolic.core.io import model_to_document
    print("| instance | L | run (jobs) | command (wall) | result | families | search | check again | certificate |")
    print("|---|---|---|---:|---|---:|---:|---:|---:|")
    checker_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "proofs", "checker.py")
    with tempfile.TemporaryDirectory() as folder:
        for name, mdp, _ in grid_instances():
            model = os.path.join(folder, "model.json")
            with open(model, "w", encoding="utf-8") as handle:
                json.dump(model_to_document(mdp), handle)
            for L in (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4)):
                for label, jobs, environment in variants:
                    cert = os.path.join(folder, f"cert-{jobs}.json")
                    command = [sys.executable, "-m", "rewardcert", "threshold", model, "--data", "uniform",
                               "--regret", str(L), "--jobs", str(jobs), "-o", cert]
                    start = time.perf_counter()
                    done = subprocess.run(command, capture_output=True, text=True, timeout=10 * budget,
                                          env={**os.environ, **environment})
                    wall = time.perf_counter() - start
                    out = done.stdout
                    result = next((line.split("=")[1].split("(")[0].strip() for line in out.splitlines()
                                   if line.startswith("critical error")), f"exit {done.returncode}")
                    search = next((line for line in out.splitlines() if line.startswith("search:")), "")
                    families = search.split()[1] if search else "?"
                    found = re.search(r", ([\d.]+ s)(?:;|$)", search)
                    seconds = found.group(1) if found else "?"
                    start = time.perf_counter()
                    check = subprocess.run([sys.executable, "-I", "-S", checker_path, cert], capture_output=True,
                                           text=True)
                    t_check = time.perf_counter() - start
                    status = check.stdout.strip().splitlines()[0] if check.stdout.strip() else f"exit {check.returncode}"
                    size = os.path.getsize(cert) / 1e6 if os.path.exists(cert) else 0.0
                    print(f"| {name} | {L} | {label} | {wall:.2f} s | {result} | {families} | {seconds} | "
                          f"{t_check:.2f} s ({status}) | {size:.2f} MB |", flush=True)
                    if os.path.exists(cert):
                        os.remove(cert)


def ablation_instances():
    lake = frozen_lake(4, 0)
    yield "FrozenLake-style 4x4 (slippery)", lake, uniform_distribution(lake), Fraction(1, 2)
    gym = load_model("examples/frozenlake4x4.toml").mdp
    yield "Gymnasium FrozenLake-v1 4x4", gym, uniform_distribution(gym), Fraction(3, 4)
    mdp = random_mdp(12000, 12, 4)
    yield "random 12x4, uniform D", mdp, uniform_distribution(mdp), Fraction(3, 4)


def run_ablation(budget) -> None:
    settings = (("both on (default)", True, True), ("duplicates off", False, True),
                ("regret-aware off", True, False), ("both off", False, False))
    print("| instance | L | " + " | ".join(label for label, _, _ in settings) + " |")
    print("|---|---|" + "---:|" * len(settings))
    for name, mdp, data, L in ablation_instances():
        bounds = return_bounds(mdp)
        seed, _ = milp_seed(mdp, data, L, bounds, SEED_LIMIT)
        seeds = [seed.policy] if seed.policy is not None else []
        cells = []
        for _, merge, aware in settings:
            start = time.perf_counter()
            result = critical_epsilon(mdp, data, L, bounds=bounds, max_seconds=budget, seed_policies=seeds,
                                      merge_duplicates=merge, regret_aware=aware)
            cells.append(f"{time.perf_counter() - start:.2f} s, {result.stats.nodes} nodes ({show(result)})")
        print(f"| {name} | {L} | " + " | ".join(cells) + " |", flush=True)


def family_instances():
    lake = frozen_lake(4, 0)
    for L in (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4)):
        yield "FrozenLake-style 4x4 (slippery)", lake, uniform_distribution(lake), L
    mdp = random_mdp(12000, 12, 4)
    yield "random 12x4, uniform D", mdp, uniform_distribution(mdp), Fraction(3, 4)


def run_family(budget) -> None:
    """The search with and without the family occupancy bounds (format §3.7a), from one seed, with
    no budget unless ``budget`` is given, and the checker's time on each certificate."""
    print("| instance | L | family bounds off | on | off / on | check off | check on | same answer |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, mdp, data, L in family_instances():
        bounds = return_bounds(mdp)
        seed, _ = milp_seed(mdp, data, L, bounds, SEED_LIMIT)
        seeds = [seed.policy] if seed.policy is not None else []
        cells, checks, results = [], [], []
        for on in (False, True):
            start = time.perf_counter()
            result = critical_epsilon(mdp, data, L, bounds=bounds, max_seconds=budget, seed_policies=seeds,
                                      family_occupancy=on)
            seconds = time.perf_counter() - start
            cells.append((seconds, f"{seconds:.1f} s, {result.stats.nodes} nodes ({show(result)})"))
            t_check, size = replay(mdp, data, L, result)
            checks.append(f"{t_check:.1f} s, {size / 1e6:.1f} MB")
            results.append(result)
        same = all(r.complete for r in results) and results[0].critical_epsilon == results[1].critical_epsilon
        print(f"| {name} | {L} | {cells[0][1]} | {cells[1][1]} | {cells[0][0] / cells[1][0]:.2f} | "
              f"{checks[0]} | {checks[1]} | {'yes' if same else 'n/a (unfinished)'} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per exact search")
    parser.add_argument("--parts", nargs="+", default=["grid", "random", "jobs", "fixed", "ablation"],
                        choices=["grid", "random", "jobs", "fixed", "ablation", "family", "commands", "compiled"])
    parser.add_argument("--family-budget", type=float, default=None,
                        help="seconds per search in the 'family' part (default: run to the end)")
    args = parser.parse_args()
    for line in machine(("python-flint", "PuLP", "highspy")):
        print(line)
    print()
    rows: list = []
    quarter = [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4)]
    if "grid" in args.parts:
        print("### Gridworld and FrozenLake, 4x4 (4^16 policies)\n")
        run_table(grid_instances(), quarter, args.budget, rows=rows)
        print()
    if "random" in args.parts:
        print("### Random 12-state, 4-action MDPs (4^12 policies)\n")
        run_table(random_instances(), [Fraction(1, 10)] + quarter + [Fraction(1)], args.budget, rows=rows)
        print()
    if "jobs" in args.parts and rows:
        print("### --jobs 2 against --jobs 1\n")
        run_jobs(rows, args.budget)
        print()
    if "fixed" in args.parts:
        print(f"### The fixed branching order (the previous engine), same budget ({args.budget:g} s)\n")
        run_table(grid_instances(), [Fraction(1, 2)], args.budget, branching="fixed")
        print()
    if "family" in args.parts:
        print("### Family occupancy bounds (format §3.7a) off and on, search only, same seed\n")
        run_family(args.family_budget)
        print()
    if "commands" in args.parts:
        print("### The whole command, --jobs 1 and 2, run to the end\n")
        run_commands(args.budget)
        print()
    if "compiled" in args.parts:
        print("### The whole command, serial, compiled float loops against numpy only (symbolic/guidance/floatjit.py)\n")
        run_commands(args.budget, COMPILED_VARIANTS)
        print()
    if "ablation" in args.parts:
        print(f"### Duplicate actions and the in-search regret-aware bound, each off ({args.budget:g} s, "
              "search only, same seed)\n")
        run_ablation(args.budget)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
