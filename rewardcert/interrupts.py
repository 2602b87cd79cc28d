"""Ctrl-C and SIGTERM: a long search stops and reports what it knows; nothing else is lost.

``Interrupts`` handles SIGINT and SIGTERM alike.  Inside ``searching()`` the
first signal only asks the search to stop (the engine polls ``stop_requested``
at its budget checks, exactly where ``--timeout`` stops it), so the command
can still print the interval for ``ε*(D)`` known so far.  Anywhere else, or on
a second signal, it raises ``KeyboardInterrupt``; file writes are atomic
(``rewardcert/output.py``), so an interrupted write leaves the old file.
The command then exits 130 (SIGINT) or 143 (SIGTERM), i.e. 128 + the signal.
"""

from __future__ import annotations

import contextlib
import signal
import threading

EXIT_INTERRUPTED = 130


class Interrupts:
    def __init__(self) -> None:
        self.received: int | None = None     # the first signal number, once one arrived
        self._soft = False
        self._previous: dict = {}

    @property
    def exit_status(self) -> int:
        return 128 + (self.received or signal.SIGINT)

    @property
    def name(self) -> str:
        return "terminated (SIGTERM)" if self.received == signal.SIGTERM else "interrupted"

    def stop_requested(self) -> bool:
        return self.received is not None

    def _handle(self, signum, frame) -> None:
        first = self.received is None
        if first:
            self.received = signum
        if not (self._soft and first):
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self):
        """Handle SIGINT and SIGTERM for the duration (main thread only; a no-op elsewhere)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        try:
            yield self
        finally:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)
            self._previous.clear()

    @contextlib.contextmanager
    def searching(self):
        """While the body runs, the first signal asks the search to stop instead of raising."""
        self._soft = True
        try:
            yield self.stop_requested
        finally:
            self._soft = False
