# PYTHON_ARGCOMPLETE_OK  (argcomplete: this module answers shell completion, rewardcert/completion.py)
"""The ``rewardcert`` command.

Exit statuses: 0 success / safe / verified, 1 unsafe / rejected, 2 bad input
(or an unreadable certificate), 3 unknown (a budget ran out), 4 a theorem's
conclusion (or another layer) disagrees with the exact truth, 70 an internal
error (a bug), 130 interrupted (Ctrl-C, SIGINT) and 143 terminated (SIGTERM),
after printing what was known, 141 the output pipe closed before the answer
was written.  Bad input never prints a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from typing import Sequence

from rewardcert.symbolic.core.errors import RewardcertError

from .commands import EXIT_BAD_INPUT, EXIT_INTERNAL, REGISTRY

EXIT_BROKEN_PIPE = 141
from .commands import (  # noqa: F401  (importing registers the commands)
    certify,
    evaluate,
    goodhart,
    importing,  # noqa: F401,E402  (rewardcert import / export)
    measures,
    paper,
    plot,
    run,
    theorems,
)


class Parser(argparse.ArgumentParser):
    """argparse, except that with ``--json`` a usage error is a JSON error document on standard
    output (``docs/json-schema/error.json``), with argparse's exit status 2."""

    json_errors = False

    def error(self, message):
        if Parser.json_errors:
            print_error_json("usage", f"{self.prog}: {message}", EXIT_BAD_INPUT)
            self.exit(EXIT_BAD_INPUT)
        super().error(message)


def print_error_json(kind: str, message: str, status: int, exc: RewardcertError | None = None,
                     stream=None) -> None:
    """``{"schema": "rewardcert/error-1", "error": {...}}``: what went wrong, where, and the exit
    status (the same as without ``--json``)."""
    import json
    error = {"kind": kind, "message": message, "exit_status": status}
    if exc is not None:
        error.update(file=exc.file, table=exc.table, entry=exc.entry, detail=exc.message)
    stream = stream if stream is not None else sys.stdout
    json.dump({"schema": "rewardcert/error-1", "error": error}, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="rewardcert",
        description="Exact, certified checks of reward-learning safety on small MDPs "
                    "(Fluri et al., The Perils of Optimizing Learned Reward Functions, ICML 2025).")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    parser.add_argument("--version", action="version", version=f"rewardcert {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for entry in REGISTRY:
        command = sub.add_parser(entry.name, help=entry.help, description=entry.help)
        entry.configure(command)
        # each command's run, and the way to build this parser again (rewardcert run parses its checks)
        command.set_defaults(run=entry.run, parser_factory=build_parser)
    return parser


def _version() -> str:
    from . import __version__
    return __version__


_NEGATIVE_NUMBER = re.compile(r"-(\d|\.\d)", re.ASCII)


def _value_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string, on the parser or a subcommand, that takes exactly one value."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _value_options(sub)
        elif action.option_strings and action.nargs is None and action.const is None \
                and not isinstance(action, (argparse._StoreTrueAction, argparse._VersionAction,
                                            argparse._HelpAction)):
            found.update(action.option_strings)
    return found


def join_negative_values(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``--epsilon -1/10`` as ``--epsilon=-1/10``: argparse would read ``-1/10`` as an
    option and say "expected one argument"; joined, the value reaches the range check,
    which says "epsilon must be > 0"."""
    options = _value_options(parser)
    out: list[str] = []
    argv = list(argv)
    i = 0
    while i < len(argv):
        if argv[i] in options and i + 1 < len(argv) and _NEGATIVE_NUMBER.match(argv[i + 1]):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
            continue
        if argv[i] == "--":
            out.extend(argv[i:])
            break
        out.append(argv[i])
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    from .completion import enable as enable_completion
    enable_completion(parser)     # answers a shell's tab-completion request (argcomplete), if any
    argv = list(sys.argv[1:] if argv is None else argv)
    Parser.json_errors = "--json" in argv
    try:
        args = parser.parse_args(join_negative_values(parser, argv))
    finally:
        Parser.json_errors = False
    execute = next(entry.run for entry in REGISTRY if entry.name == args.command)
    args.started = time.monotonic()      # --timeout counts from here (commands.search_budget)
    from .interrupts import Interrupts
    args.interrupts = Interrupts()
    # "--out -" sends the certificate (or picture) to stdout, so the report goes to stderr.
    args.stdout = sys.stdout
    report = contextlib.redirect_stdout(sys.stderr) if getattr(args, "out", None) == "-" \
        else contextlib.nullcontext()
    try:
        with args.interrupts.installed(), report:
            return execute(args)
    except RewardcertError as exc:
        print(f"rewardcert: error: {exc}", file=sys.stderr)
        if getattr(args, "json", False):
            print_error_json("input", str(exc), EXIT_BAD_INPUT, exc, stream=_json_stream(args))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"rewardcert: {args.interrupts.name}", file=sys.stderr)
        return args.interrupts.exit_status
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
        if getattr(args, "json", False):
            print_error_json("internal", f"{type(exc).__name__}: {exc}", EXIT_INTERNAL, stream=_json_stream(args))
        return EXIT_INTERNAL


def _json_stream(args):
    """Where a ``--json`` document goes: standard output, or standard error when ``--out -`` sends
    the certificate to standard output."""
    return sys.stderr if getattr(args, "out", None) == "-" else sys.stdout


def entry() -> int:
    """The ``rewardcert`` console script and ``python -m rewardcert``: ``main``, then no collector
    pass over what is still alive at exit (``gc.freeze``).  After the 4x4 lake's search at
    L = 3/4, that pass took 2.3 s of the command (0.08 s frozen); ``main`` itself, which tests
    call in-process, leaves the collector alone."""
    import gc
    status = main()
    gc.freeze()
    return status


if __name__ == "__main__":
    sys.exit(entry())
