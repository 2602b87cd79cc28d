"""Theorem instances: each result of the paper run on one instance, with its hypothesis, its
conclusion and the exact (or rigorous) truth; ``exact`` for §3 and Thm D.11, ``regularised`` for §4
and §6."""

from .exact import (
    TheoremCheck,
    TheoremReport,
    latex_report,
    markdown_report,
    theorem_instances,
)

__all__ = ["TheoremCheck", "TheoremReport", "latex_report", "markdown_report", "theorem_instances"]
