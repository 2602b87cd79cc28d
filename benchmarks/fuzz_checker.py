"""Issue 14: a fuzz campaign against the standalone checker (``proofs/checker.py``).

The mutations, the certificates of every kind and the oracle are those of
``tests/test_checker_fuzz.py``, which CI runs with a few hundred mutants per kind; this runs as
many as asked (``--mutants``, a total shared by the kinds) and prints, per kind, how many mutants
were rejected (by rule), verified with their claim unchanged, verified with their claim shown true
by the oracle, or left undecided, and the internal errors and false acceptances (both must be 0).

``--commit C`` runs the same mutants against the single-file checker of an earlier commit
(``git show C:proofs/checker.py``), e.g. ``a294757``, the last before the package: its internal
errors are the shapes ``tests/test_checker_fuzz.py`` now holds as regressions.

Usage, from the repository root::

    python -m benchmarks.fuzz_checker                       # 10,000 mutants
    python -m benchmarks.fuzz_checker --mutants 2000 --seed 3 --kinds safe regularised-safe
    python -m benchmarks.fuzz_checker --commit a294757      # the old checker, same mutants

Exits 1 if a mutant reached ``internal-error`` or a false claim verified.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import test_checker_fuzz as fuzz  # noqa: E402


def old_checker(commit: str):
    """``check_document`` of the single-file checker at ``commit``."""
    text = subprocess.run(["git", "show", f"{commit}:proofs/checker.py"], capture_output=True, text=True,
                          check=True, cwd=fuzz.ROOT).stdout
    path = Path(tempfile.mkdtemp()) / "old_checker.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("old_checker", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.check_document


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=10_000, help="in all, shared by the kinds (10000)")
    parser.add_argument("--seed", type=int, default=fuzz.SEED)
    parser.add_argument("--kinds", nargs="*", default=fuzz.KINDS, choices=fuzz.KINDS)
    parser.add_argument("--commit", help="check the mutants with the single-file checker of this commit")
    args = parser.parse_args(argv)
    check = old_checker(args.commit) if args.commit else None
    started = time.monotonic()
    documents = fuzz.certificates()
    print(f"{sum(map(len, documents.values()))} certificates of {len(documents)} kinds, "
          f"generated in {time.monotonic() - started:.1f} s; seed {args.seed}\n")
    per_kind = -(-args.mutants // len(args.kinds))
    rules, failures, undecided = Counter(), [], []
    print("| kind | certificates | mutants | rejected | verified, claim unchanged | verified, shown true "
          "| undecided | internal errors | false acceptances | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    total = Counter()
    for kind in args.kinds:
        tally, started = Counter(), time.monotonic()
        for description, status, rule, message, holds, how in fuzz.outcomes(kind, per_kind, args.seed, check):
            if rule == "internal-error":
                tally["internal"] += 1
                failures.append((kind, description, message))
            elif status == "rejected":
                tally["rejected"] += 1
                rules[rule] += 1
            elif holds is False:
                tally["false"] += 1
                failures.append((kind, description, "VERIFIED a false claim"))
            elif holds is None:
                tally["undecided"] += 1
                undecided.append((kind, description, how))
            else:
                tally["unchanged" if how == "unchanged" else "shown"] += 1
        total.update(tally)
        print(f"| {kind} | {len(documents[kind])} | {per_kind} | {tally['rejected']} | {tally['unchanged']} "
              f"| {tally['shown']} | {tally['undecided']} | {tally['internal']} | {tally['false']} "
              f"| {time.monotonic() - started:.1f} |")
    print(f"| all | {sum(len(documents[k]) for k in args.kinds)} | {per_kind * len(args.kinds)} "
          f"| {total['rejected']} | {total['unchanged']} | {total['shown']} | {total['undecided']} "
          f"| {total['internal']} | {total['false']} | |")
    print("\n| rule | rejections |\n|---|---:|")
    for rule, count in rules.most_common():
        print(f"| `{rule}` | {count} |")
    for kind, description, how in undecided:
        print(f"\nundecided: {kind}: {description}: {how}")
    for kind, description, message in failures:
        print(f"\nFAILED: {kind}: {description}: {message}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
