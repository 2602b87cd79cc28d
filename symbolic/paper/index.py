"""Every result of the paper the toolkit checks on an instance: its label, where it is in the paper,
and the function of ``symbolic/paper/`` (or below) that computes it.  ``docs/paper-coverage.md`` lists
the same labels, and a test keeps the two, and the ``theorems`` rows, in step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class PaperResult:
    label: str                         # the paper's label, as the toolkit prints it
    section: str                       # where the paper states it
    function: Callable                 # what computes it on an instance
    also: tuple[str, ...] = ()         # the same result under its appendix label


def _entries() -> list[PaperResult]:
    from ..search.squared import squared_threshold
    from . import choice, closed_form, matrix, measures, regularised, rlhf, section3, soft_lemmas, squared
    return [
        PaperResult("Proposition 3.1", "§3", closed_form.proposition_3_2, ("Corollary D.7",)),
        PaperResult("Proposition 3.2", "§3", closed_form.proposition_3_2, ("Corollary D.12",)),
        PaperResult("Proposition 3.3", "§3", section3.proposition_3_3, ("Proposition C.5",)),
        PaperResult("Corollary 3.4", "§3", section3.corollary_3_4, ("Corollary C.6",)),
        PaperResult("Theorem 3.5", "§3", matrix.safety_matrix, ("Theorem C.16", "Corollary C.23", "Algorithm 1")),
        PaperResult("Proposition 4.1", "§4", regularised.proposition_4_1, ("Theorem D.22",)),
        PaperResult("Theorem 4.2", "§4", regularised.theorem_4_2, ("Theorem C.38",)),
        PaperResult("Proposition 5.1", "§5", measures.error_measures, ("Proposition C.24",)),
        PaperResult("Proposition 5.2", "§5", measures.error_measures, ("Proposition C.25",)),
        PaperResult("Proposition 5.3", "§5", measures.error_measures, ("Proposition C.26",)),
        PaperResult("Theorem 6.1", "§6", rlhf.rlhf_theorem, ("Theorem C.32",)),
        PaperResult("Proposition B.1", "App. B.3", squared.PropositionB1),
        PaperResult("Proposition 3.2 (MSE)", "App. B.3", squared.proposition_3_2_squared),
        PaperResult("Proposition 3.3 (MSE)", "App. B.3", squared.proposition_3_3_squared),
        PaperResult("Corollary 3.4 (MSE)", "App. B.3", squared.corollary_3_4_squared),
        PaperResult("Theorem 4.2 (MSE)", "App. B.3", squared.theorem_4_2_squared),
        PaperResult("Theorem E (MSE)", "App. B.3", squared_threshold),
        PaperResult("Proposition C.7", "App. C.1", closed_form.proposition_3_2),
        PaperResult("Lemma C.29", "App. C.4.4", soft_lemmas.lemma_c29),
        PaperResult("Lemma C.30", "App. C.4.4", rlhf.rlhf_theorem),
        PaperResult("Proposition C.31", "App. C.4.4", rlhf.rlhf_theorem),
        PaperResult("Proposition C.33", "App. C.4.4", rlhf.rlhf_theorem),
        PaperResult("Lemma C.34", "App. C.5", soft_lemmas.lemma_c34),
        PaperResult("Lemma C.36", "App. C.5", soft_lemmas.lemma_c36),
        PaperResult("Lemma C.37", "App. C.5", soft_lemmas.soft_lemmas),
        PaperResult("Corollary C.39", "App. C.5", section3.proposition_3_3_witness),
        PaperResult("Theorem D.11", "App. D.2", closed_form.theorem_d11),
        PaperResult("Proposition D.15", "App. D.3", choice.proposition_d15),
        PaperResult("Lemma D.17", "App. D.3", choice.lemma_d17),
    ]


def paper_results() -> dict[str, PaperResult]:
    """Label → entry, for every label the toolkit checks (appendix aliases included)."""
    table: dict[str, PaperResult] = {}
    for entry in _entries():
        table[entry.label] = entry
        for alias in entry.also:
            table[alias] = entry
    return table


def section_of(label: str) -> str | None:
    """The paper's section of a ``theorems`` row label (its text before " ("), or None for the
    toolkit's own rows."""
    base = label.split(" (")[0]
    mse = "(MSE" in label
    entry = paper_results().get(f"{base} (MSE)" if mse else base) or paper_results().get(base)
    return None if entry is None else entry.section


__all__ = ["PaperResult", "paper_results", "section_of"]
