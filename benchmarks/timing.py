"""Wall-clock measurement for the benchmarks: best-of-k timing, a growth-based time budget, the machine.

Timings are wall-clock ``time.perf_counter`` seconds.  A fast measurement is
repeated and the minimum kept (the least disturbed run on a shared machine);
a slow one runs once.  ``Budget`` extrapolates a method's measured growth in
``n`` to decide, before starting, whether the next size would blow its time
budget.
"""

from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Callable, TypeVar

T = TypeVar("T")

# Elimination over a field does at least ~n^3 operations, so measured growth
# below cubic (timer noise at small n) is not trusted for extrapolation.
MIN_EXPONENT = 3.0
MAX_EXPONENT = 8.0


def best_time(fn: Callable[[], T], *, repeat: int = 3, repeat_below: float = 2.0) -> tuple[float, T]:
    """``(min seconds, result)``; repeats up to ``repeat`` times only while a run is under ``repeat_below`` s."""
    start = time.perf_counter()
    result = fn()
    best = time.perf_counter() - start
    for _ in range(repeat - 1):
        if best >= repeat_below:
            break
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best, result


@dataclass
class Budget:
    """Per-method history of ``(n, seconds)`` and a prediction for the next ``n``.

    The prediction is ``t_last · (n / n_last)^k`` with ``k`` the growth
    exponent measured between the last two sizes, clamped to
    ``[MIN_EXPONENT, MAX_EXPONENT]`` (``MIN_EXPONENT`` when only one size
    has been measured).
    """

    seconds: float
    history: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def record(self, method: str, n: int, elapsed: float) -> None:
        self.history.setdefault(method, []).append((n, elapsed))

    def exponent(self, method: str) -> float:
        points = self.history.get(method, [])
        if len(points) < 2:
            return MIN_EXPONENT
        (n1, t1), (n2, t2) = points[-2], points[-1]
        if t1 <= 0 or t2 <= 0 or n1 == n2:
            return MIN_EXPONENT
        return min(MAX_EXPONENT, max(MIN_EXPONENT, math.log(t2 / t1) / math.log(n2 / n1)))

    def predict(self, method: str, n: int) -> float | None:
        """Predicted seconds at ``n``, or ``None`` before any measurement."""
        points = self.history.get(method, [])
        if not points:
            return None
        n_last, t_last = points[-1]
        return t_last * (n / n_last) ** self.exponent(method)

    def allows(self, method: str, n: int) -> bool:
        predicted = self.predict(method, n)
        return predicted is None or predicted <= self.seconds


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(packages: tuple[str, ...] = ("python-flint", "sympy")) -> list[str]:
    """One line per fact about the machine and the software the figures depend on."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [f"cores usable by this process: {usable}",
             f"CPU: {cpu_model()}",
             f"Python: {platform.python_version()} ({platform.python_implementation()}, {platform.system()})"]
    lines += [f"{name}: {version(name)}" for name in packages]
    return lines
