"""``rewardcert run MANIFEST``: many questions with expected answers in one process, for CI (docs/manifest.md)."""

from __future__ import annotations

import argparse
import sys

from . import EXIT_OK, EXIT_UNSAFE, add_json_argument, command, print_json, table


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("manifest", metavar="MANIFEST", help="a rewardcert/manifest-1 file (TOML or JSON)")
    p.add_argument("-o", "--out", metavar="DIR",
                   help="write the certificates of the checks that ask for one (certificate = true) into DIR "
                        "(created if missing; its parent must exist)")
    p.add_argument("--junit", metavar="FILE.xml", help="also write the results as JUnit XML, for CI servers")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="run the checks on N worker processes (default 1: in this process, sharing models)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="a --timeout for every search check that sets none itself")
    add_json_argument(p)


def _progress(done: int, total: int, outcome) -> None:
    if sys.stderr.isatty():
        mark = "ok" if outcome.passed else "FAILED"
        sys.stderr.write(f"\r[{done}/{total}] {outcome.check.name[:60]:<60} {mark:<6}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


@command("run", "run a manifest of questions with expected answers (exit 0 when every expectation holds, "
         "1 when one fails, 2 for a bad manifest)", configure)
def run(args: argparse.Namespace) -> int:
    import os

    from ..engine import check_parameters
    from ..manifest import junit_xml, load_manifest, run_manifest, summary_json
    from ..output import check_output_path, write_text
    check_parameters(args)
    if args.junit:
        check_output_path(args.junit, what="JUnit report", option="--junit")
    if args.out:
        if os.path.exists(args.out) and not os.path.isdir(args.out):
            from rewardcert.symbolic.core.errors import RewardcertError
            raise RewardcertError(f"{args.out!r} is a file; --out takes a directory", entry="--out")
        os.makedirs(args.out, exist_ok=True)
    from . import REGISTRY
    manifest = load_manifest(args.manifest, {entry.name for entry in REGISTRY})
    done = run_manifest(manifest, args.parser_factory, out_dir=args.out, jobs=args.jobs, progress=_progress,
                        interrupts=getattr(args, "interrupts", None), timeout=args.timeout)
    if args.junit:
        write_text(args.junit, junit_xml(done), what="JUnit report")
    if args.json:
        print_json(summary_json(done), "run")
    else:
        rows = []
        for outcome in done.outcomes:
            why = outcome.error or "; ".join(outcome.failures)
            rows.append((outcome.check.name, outcome.check.command, "pass" if outcome.passed else "FAIL",
                         str(outcome.status), f"{outcome.seconds:.2f}", why[:100]))
        passed = sum(o.passed for o in done.outcomes)
        out = [f"{done.name}: {passed} of {len(done.checks)} checks passed"
               + (f" ({len(done.checks) - len(done.outcomes)} not run: interrupted)"
                  if len(done.outcomes) < len(done.checks) else "")]
        out += table(rows, ("check", "command", "result", "exit", "seconds", "why"))
        if args.junit:
            out.append(f"JUnit XML: {args.junit}")
        print("\n".join(out))
    interrupts = getattr(args, "interrupts", None)
    if interrupts is not None and interrupts.stop_requested():
        return interrupts.exit_status
    return EXIT_OK if all(o.passed for o in done.outcomes) and len(done.outcomes) == len(done.checks) else EXIT_UNSAFE
