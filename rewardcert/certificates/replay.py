"""The one write-and-replay path of every certificate kind: the standalone checker replays the
certificate's text before it is written, within the command's ``--timeout``."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from .common import certificate_text, write_certificate

MIN_REPLAY_SECONDS = 0.25
"""The replay always gets at least this long, however little of ``--timeout`` is left (enough for
a small certificate; a larger one is then written unreplayed, and the report says so)."""


def write_checked(path: str, certificate: dict, *, stdout=None, deadline: float | None = None) -> bool:
    """Replay the certificate in the standalone checker before anyone sees it, then write it.  Its
    size is checked first (``CertificateTooLarge``), so an unreadable certificate costs no replay.

    With a ``deadline`` (``--timeout``), the replay runs as ``python -I -S proofs/checker.py`` in a
    child process that is stopped at the deadline (at least ``MIN_REPLAY_SECONDS``); the certificate
    is then written unreplayed and the result is False, so the caller says so.  True: replayed and
    verified.  A certificate the checker rejects is never written (an internal error)."""
    text = certificate_text(path, certificate)
    replay = replay_here(text) if deadline is None else replay_until(text, deadline)
    if replay is None:
        write_certificate(path, certificate, stdout=stdout, text=text)
        return False
    status, message = replay
    if status != "verified":
        raise RuntimeError(f"the certificate produced was {status} by proofs/checker.py: {message}")
    write_certificate(path, certificate, stdout=stdout, text=text)
    return True


def replay_here(text: str) -> tuple[str, str]:
    """``(status, message)`` of the standalone checker on ``text``, in this process (the text is
    the certificate as it will be written: parsing it replays exactly what a user gets)."""
    import gc

    from rewardcert.proofs import checker
    collecting = gc.isenabled()
    gc.disable()            # millions of small objects: the cyclic collector would walk them again and again
    try:
        document = json.loads(text)
    except RecursionError:                 # a deep tree: the checker's own reader takes it
        document = checker.parse_json(text)
    finally:
        if collecting:
            gc.enable()
    status, message, _ = checker.check_document(document)
    return status, message


def replay_until(text: str, deadline: float) -> tuple[str, str] | None:
    """``(status, message)`` of the standalone checker on ``text``, run in its own interpreter
    (``-I -S``: the standard library only, as a user runs it); None if it was still running at
    ``deadline``."""
    from rewardcert.proofs import checker
    seconds = max(MIN_REPLAY_SECONDS, deadline - time.monotonic())
    try:
        done = subprocess.run([sys.executable or "python3", "-I", "-S", checker.__file__, "--json", "-"],
                              input=text.encode("utf-8"), capture_output=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        return None
    except OSError:          # no interpreter to start (an embedded Python): replay here, untimed
        return replay_here(text)
    try:
        report = json.loads(done.stdout)
        return report["result"], report["message"]
    except (ValueError, KeyError, TypeError):
        raise RuntimeError(f"proofs/checker.py gave no report (exit {done.returncode}): "
                           f"{done.stderr.decode('utf-8', 'replace')[-500:]}") from None


def not_replayed(path: str) -> str:
    """The note for a certificate ``write_checked`` wrote without its replay."""
    return (f"--timeout ran out before proofs/checker.py finished replaying it, so it was written unchecked; "
            f"'rewardcert check {path}' replays it")
