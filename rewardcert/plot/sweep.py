"""The picture of a sweep: the critical error (or its certified interval) against the swept value."""

from __future__ import annotations

import os
from fractions import Fraction

from .backend import load_matplotlib, picture_format, save

LABELS = {"regret": "regret bound L", "epsilon": "error bound ε", "lam": "KL strength λ"}


def _value(text) -> float | None:
    if text in (None, "inf"):
        return None
    return float(Fraction(text))


def plot_sweep(output: str, command: str, keys: list[str], combos: list[dict], rows: list[dict]) -> None:
    """The certified interval (a bar from its lower end, ^, to its upper end, o; one point when exact)
    at each swept value, one colour per value of the other swept options.  Only the sampled values
    are drawn: the critical error is a step function of L whose jumps may fall between them."""
    output = os.fspath(output)
    extension = picture_format(output)
    Figure, FigureCanvasAgg, _ = load_matplotlib()
    figure = Figure(figsize=(7.5, 4.8))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    along, others = keys[0], keys[1:]
    groups: dict = {}
    for combo, row in zip(combos, rows):
        groups.setdefault(tuple(combo[k] for k in others), []).append((combo[along], row.get("interval") or {}))
    for index, (group, points) in enumerate(groups.items()):
        color = f"C{index % 10}"
        label = ", ".join(f"{LABELS[k].split()[-1]} = {v}" for k, v in zip(others, group)) or "ε*(D)"
        for x, interval in points:
            low, high = _value(interval.get("lower")), _value(interval.get("upper"))
            x = float(x)
            if high is not None and low is not None and high > low:     # a certified interval
                ax.vlines(x, low, high, color=color, linewidth=3, alpha=0.5)
            if low is not None:
                ax.plot([x], [low], marker="^", color=color, linestyle="none")
            if high is not None:
                ax.plot([x], [high], marker="o", color=color, linestyle="none", label=label)
                label = None
            else:                                                          # no finite upper end known
                ax.annotate("↑ no upper end", (x, low or 0.0), color=color, fontsize=7)
    ax.set_xlabel(LABELS[along])
    ax.set_ylabel("critical error ε*(D): upper (o) and lower (^) ends")
    ax.set_title(f"rewardcert {command}: the certified critical error at each swept {LABELS[along]}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    save(figure, output, extension)
