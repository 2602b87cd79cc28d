"""A small progress bar for long enumerations, drawn on stderr only when it is a terminal."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class ProgressBar:
    """``bar(done, total)`` redraws ``label [#####.....] 42% done/total``.

    It stays silent unless ``stream`` is a terminal (or ``REWARDCERT_PROGRESS=1``),
    the work has at least ``min_total`` steps, and it redraws at most every
    ``interval`` seconds, so it costs nothing in pipelines and tests.
    """

    def __init__(self, label: str, *, stream: TextIO | None = None, min_total: int = 1000,
                 interval: float = 0.1, width: int = 30):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.min_total = min_total
        self.interval = interval
        self.width = width
        forced = os.environ.get("REWARDCERT_PROGRESS") == "1"
        self.enabled = forced or bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < self.min_total:
            return
        now = time.monotonic()
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        filled = self.width * done // total if total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        percent = 100 * done // total if total else 100
        self.stream.write(f"\r{self.label} [{bar}] {percent:3d}% {done}/{total}")
        self._drawn = True
        if done >= total:
            self.close()
        self.stream.flush()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
