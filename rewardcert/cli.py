"""The ``rewardcert`` command.

Exit statuses: 0 success / safe / verified, 1 unsafe / rejected, 2 bad input
(or an unreadable certificate), 3 unknown (a budget ran out), 4 a theorem's
conclusion (or another layer) disagrees with the exact truth, 70 an internal
error (a bug), 141 the output pipe closed before the answer was written.
Bad input never prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from symbolic.errors import RewardcertError

from .commands import EXIT_BAD_INPUT, EXIT_INTERNAL, REGISTRY

EXIT_BROKEN_PIPE = 141
from .commands import certify, evaluate, measures, paper, plot, theorems  # noqa: F401  (importing registers the commands)
from .commands import importing  # noqa: F401,E402  (rewardcert import / export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewardcert",
        description="Exact, certified checks of reward-learning safety on small MDPs "
                    "(Fluri et al., The Perils of Optimizing Learned Reward Functions, ICML 2025).")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for entry in REGISTRY:
        entry.configure(sub.add_parser(entry.name, help=entry.help, description=entry.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = next(entry.run for entry in REGISTRY if entry.name == args.command)
    try:
        return run(args)
    except RewardcertError as exc:
        print(f"rewardcert: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("rewardcert: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): the verdict was never delivered, so do not
        # report one.  Exit like a process killed by SIGPIPE, and keep Python quiet at exit.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a bug: say so plainly, keep the traceback for --debug
        if args.debug:
            raise
        print(f"rewardcert: internal error: {type(exc).__name__}: {exc} "
              "(this is a bug; rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
