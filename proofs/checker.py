#!/usr/bin/env python3
"""Standalone checker for rewardcert certificates (format ``rewardcert/certificate-1``).

Trusted base: the Python standard library, this file and its rules in the package ``certcheck``
beside it, which import nothing from the rest of the toolkit, so a bug in a solver cannot certify
itself.  Every field is type- and bounds-checked before use, arithmetic is exact, and any unexpected
condition is a rejection.  The format and each rule: ``docs/certificate-format.md``.

Usage: ``python checker.py [--json] CERT.json`` (``-`` reads standard input);
exit 0 verified, 1 rejected, 2 unreadable.
"""

from __future__ import annotations

import gc
import json
import os
import sys

if not __package__:
    # Run as a script (``python -I -S proofs/checker.py``), with no package, and with -I (which
    # implies -P) not even this folder on sys.path: make the folder a package under a private name,
    # its own path the only place its submodules are found, and set ``__package__`` (PEP 366), so
    # that the relative imports below load ``certcheck`` from beside this file, whatever its folder.
    import types

    _package = types.ModuleType("_rewardcert_checker")
    _package.__path__ = [os.path.dirname(os.path.realpath(__file__))]
    sys.modules[_package.__name__] = _package
    __package__ = _package.__name__

from importlib import import_module

from .certcheck.document import check_certificate
from .certcheck.reading import (FORMAT, MAX_ACTIONS, MAX_BYTES, MAX_DEPTH, MAX_NUMBER_CHARS, MAX_PAIRS,
                                MAX_STATES, MAX_TREE_NODES, RULES, Reject, plain_rational, rational)

# λ > 0 names, imported on first use (PEP 562): a λ = 0 certificate never loads the λ > 0 rules.
_LATER = {"exp_bounds": ("series", "exp_bounds"), "log_bounds": ("series", "log_bounds"), "_up": ("series", "up"),
          "_down": ("series", "down"), "_pair_kl_upper": ("preference", "pair_kl_upper")}


def __getattr__(name: str):
    if name not in _LATER:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".certcheck.{_LATER[name][0]}", __package__), _LATER[name][1])


# -- reading the file ----------------------------------------------------------------

def _no_duplicate_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name):
    raise ValueError(f"{name} is not allowed")


def _parse(text: str):
    return _without_cycle_collection(json.loads, text, object_pairs_hook=_no_duplicate_keys,
                                     parse_constant=_no_constant)


def parse_json(text: str):
    """The JSON document ``text``; duplicate keys, NaN and Infinity are a ``ValueError``, and nesting
    deeper than ``MAX_DEPTH`` a ``RecursionError`` (unreadable).  The standard parser recurses once a
    level and stops near the recursion limit (about 990 levels), which a λ = 0 tree (2 levels a
    split, a split per state) may pass: such a text is parsed again in a thread with a 64 MiB stack
    and a recursion limit above ``MAX_DEPTH``, and its depth then counted."""
    try:
        return _parse(text)
    except RecursionError:
        import threading
    outcome: list = []

    def attempt():
        try:
            outcome.append(_parse(text))
        except BaseException as exc:     # handed to this thread below
            outcome.append(exc)

    limit, stack = sys.getrecursionlimit(), threading.stack_size(64 << 20)
    try:
        sys.setrecursionlimit(max(limit, MAX_DEPTH + 100))
        worker = threading.Thread(target=attempt)
        worker.start()
        worker.join()
    finally:
        threading.stack_size(stack)
        sys.setrecursionlimit(limit)
    if isinstance(outcome[0], RecursionError) or _depth(outcome[0]) > MAX_DEPTH:
        raise RecursionError(f"the document is nested deeper than {MAX_DEPTH} levels")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _depth(value) -> int:
    """How deep arrays and objects nest in ``value``, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def check_file(path: str) -> tuple[str, str, dict]:
    """``("verified" | "rejected" | "unreadable", message, facts)`` for a certificate file."""
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_BYTES + 1)
            if len(raw) > MAX_BYTES:
                return "unreadable", f"standard input longer than {MAX_BYTES} bytes", {}
            text = raw.decode("utf-8")
        else:
            size = os.path.getsize(path)
            if size > MAX_BYTES:
                return "unreadable", f"file larger than {MAX_BYTES} bytes", {}
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8")
        document = parse_json(text)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return "unreadable", f"{type(exc).__name__}: {exc}", {}
    return check_document(document)


def _without_cycle_collection(function, *args, **options):
    """``function(*args, **options)`` with the cyclic garbage collector paused.  Parsing and checking
    build millions of containers and no reference cycles, and each collection the allocations
    trigger would walk all of them: on a 78 MB certificate, parsing took 1.7 s with it and 0.85 s
    without.  Reference counting still frees everything; only cycles would wait."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return function(*args, **options)
    finally:
        if paused:
            gc.enable()


def check_document(document) -> tuple[str, str, dict]:
    try:
        facts = _without_cycle_collection(check_certificate, document)
    except Reject as exc:
        return "rejected", f"{exc.rule}: {exc.detail}", {"rule": exc.rule}
    except Exception as exc:  # fail closed: an error in the checker is never a pass (nor is its message)
        return "rejected", f"internal-error: {type(exc).__name__}", {"rule": "internal-error"}
    return "verified", "", facts


USAGE = """usage: checker.py [--json] CERT.json

Check a rewardcert certificate (format rewardcert/certificate-1) with exact
arithmetic, trusting no solver.  CERT.json may be '-' for standard input.
Prints VERIFIED, or REJECTED: <rule>: <detail>, or UNREADABLE: <reason>;
--json prints one JSON object instead.
Exit status: 0 verified, 1 rejected, 2 unreadable or a usage error."""


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "-h" in args or "--help" in args:
        print(USAGE)
        return 0
    as_json = "--json" in args
    paths = [a for a in args if a != "--json"]
    unknown = [a for a in paths if a.startswith("-") and a != "-"]
    if unknown or len(paths) != 1:
        problem = f"unknown option {unknown[0]}" if unknown else "give exactly one certificate file"
        print(USAGE.splitlines()[0] + f"\nchecker.py: error: {problem}", file=sys.stderr)
        return 2
    status, message, facts = check_file(paths[0])
    if as_json:
        print(json.dumps({"result": status, "message": message, **facts}))
    elif status == "verified":
        print("VERIFIED")
    else:
        print(f"{status.upper()}: {message}")
    return {"verified": 0, "rejected": 1}.get(status, 2)


if __name__ == "__main__":
    sys.exit(main())
