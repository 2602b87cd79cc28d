"""Does ``--timeout`` hold for the whole command, certificate included?  (issue 9)

Each row runs ``rewardcert`` as a user would, in a child process with ``--timeout T --out CERT
--json``, and measures its wall time, the process's start-up included.  The obvious comparison is
the budget itself: "wall / T" should stay near or below 1.  The report's own fields say whether the
certificate was replayed by the checker before it was written (``certificate_replayed``) and which
interval the run proved; every certificate written is then checked again by
``python -I -S proofs/checker.py``, untimed.

Rows: the slippery 4x4 FrozenLake-style map at ``L = 1/2`` (``--timeout 0.5``, ``2``, ``8`` and ``20``;
the first two measure what start-up and the fixed floors cost a short budget), two random
models under KL regularisation (``--lambda 1/10``, 5x3 and 16x4, ``--timeout 10``), and with
``--big`` the 8x8 map at ``--timeout 60``.

    python -m benchmarks.bench_timeout [--big]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from rewardcert.symbolic.core.io import model_to_document

from benchmarks.common import random_mdp
from benchmarks.environments import frozen_lake
from benchmarks.timing import machine


def rows(big: bool):
    yield "lake 4x4, L = 1/2", frozen_lake(4, 0), ["threshold", "--regret", "1/2"], 0.5
    yield "lake 4x4, L = 1/2", frozen_lake(4, 0), ["threshold", "--regret", "1/2"], 2
    yield "lake 4x4, L = 1/2", frozen_lake(4, 0), ["threshold", "--regret", "1/2"], 8
    yield "lake 4x4, L = 1/2", frozen_lake(4, 0), ["threshold", "--regret", "1/2"], 20
    yield "random 5x3, lambda = 1/10", random_mdp(100, 5, 3), ["threshold", "--regret", "1/2", "--lambda", "1/10"], 10
    yield "random 16x4, lambda = 1/10", random_mdp(100, 16, 4), ["threshold", "--regret", "1/2", "--lambda", "1/10"], 10
    if big:
        yield "lake 8x8, L = 1/2", frozen_lake(8, 0), ["threshold", "--regret", "1/2"], 60


def interval(report: dict) -> str:
    found = report.get("critical_epsilon") or report.get("critical_error")
    if isinstance(found, dict):          # lambda > 0: {"lower", "upper"}
        return f"[{float_text(found.get('lower'))}, {float_text(found.get('upper'))}]"
    if found is not None:
        return f"exact {float_text(found)}"
    low, high = report.get("critical_epsilon_interval") or (None, None)
    return f"[{float_text(low)}, {float_text(high)}]"


def float_text(value) -> str:
    from fractions import Fraction
    if value in (None, "inf"):
        return str(value)
    return f"{float(Fraction(value)):.3g}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", action="store_true", help="also the 8x8 map at --timeout 60 (about a minute)")
    args = parser.parse_args()
    print("\n".join(machine(("python-flint", "numpy"))))
    print()
    print("| command | --timeout | wall | wall / T | certificate replayed | checked again | interval |")
    print("|---|---:|---:|---:|---|---|---|")
    checker = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "proofs", "checker.py")
    with tempfile.TemporaryDirectory() as scratch:
        for name, mdp, command, budget in rows(args.big):
            model = os.path.join(scratch, "model.json")
            with open(model, "w") as handle:
                json.dump(model_to_document(mdp), handle)
            cert = os.path.join(scratch, "cert.json")
            argv = [sys.executable, "-m", "rewardcert", *command, model, "--data", "uniform",
                    "--timeout", str(budget), "--json", "-o", cert]
            start = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True)
            wall = time.perf_counter() - start
            report = json.loads(done.stdout)
            again = subprocess.run([sys.executable, "-I", "-S", checker, cert], capture_output=True, text=True)
            print(f"| {name} | {budget} s | {wall:.2f} s | {wall / budget:.2f} | "
                  f"{report.get('certificate_replayed')} | {again.stdout.strip()} | {interval(report)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
