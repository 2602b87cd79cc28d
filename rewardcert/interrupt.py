"""Ctrl-C as a budget: the first interrupt asks a long search to stop and report what it has proved."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def stop_on_interrupt() -> Iterator[Callable[[], bool]]:
    """Yield ``stopped()``; the first SIGINT sets it (the search then stops at its next node, like a
    time-out, and its certified interval is reported), a second SIGINT interrupts as usual."""
    flag = [False]
    try:
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):
            flag[0] = True
            signal.signal(signal.SIGINT, previous)

        signal.signal(signal.SIGINT, handler)
    except ValueError:          # not the main thread: signals cannot be caught here
        yield lambda: False
        return
    try:
        yield lambda: flag[0]
    finally:
        signal.signal(signal.SIGINT, previous)
