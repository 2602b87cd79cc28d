"""Start-up time of the command line: lazy optional imports against loading them eagerly.

Each measurement starts a fresh interpreter.  "lazy" is the toolkit as it is;
"eager" first imports sympy, z3, pulp and matplotlib (what every command paid
when they were imported at module level), then runs the same command.

    python -m benchmarks.bench_startup [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from benchmarks.timing import machine

COMMANDS = {
    "rewardcert --help": ["--help"],
    "evaluate figure4": ["evaluate", "examples/figure4.toml"],
    "certify figure4": ["certify", "examples/figure4.toml", "--data", "examples/figure4-data.toml",
                        "--epsilon", "1/10", "--regret", "4/5"],
}
EAGER = "import sympy, z3, pulp, matplotlib.figure\n"


def run_once(prelude: str, argv: list[str]) -> float:
    code = prelude + ("import sys\nfrom rewardcert.cli import main\n"
                      "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *argv], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command and mode; the median is reported")
    args = parser.parse_args()
    for line in machine(("python-flint", "sympy", "z3-solver", "PuLP", "matplotlib")):
        print(line)
    print()
    print("| command | lazy (median) | eager (median) | eager / lazy |")
    print("|---|---:|---:|---:|")
    for name, argv in COMMANDS.items():
        lazy = statistics.median(run_once("", argv) for _ in range(args.repeat))
        eager = statistics.median(run_once(EAGER, argv) for _ in range(args.repeat))
        print(f"| `{name}` | {lazy:.3f} s | {eager:.3f} s | {eager / lazy:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
