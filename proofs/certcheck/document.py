"""The certificate document: ``format``, ``verdict``, ``instance`` and ``evidence``, and the table
from each verdict to the function that checks its claim (docs/certificate-format.md §1, §2)."""

from __future__ import annotations

from importlib import import_module

from .instance import read_instance
from .interval import check_interval
from .reading import FORMAT, keys_within, obj, require, show
from .unregularised import check_safe, check_threshold, check_unsafe


def _regularised(name: str):
    """The λ > 0 claim ``name`` of ``regularised.py``, imported on first use: a λ = 0 certificate
    never loads the λ > 0 rules, so they are no part of its trusted base."""
    def claim(*args) -> dict:
        return getattr(import_module(".regularised", __package__), name)(*args)
    return claim


def _heavy_tails(name: str):
    """The heavy-tail claim ``name`` of ``heavy_tails_claims.py``, imported on first use (§9); these
    verdicts read their own instance (a bandit and its proxy, or a family), not §1's."""
    def claim(instance: dict, evidence) -> dict:
        return getattr(import_module(".heavy_tails_claims", __package__), name)(instance, evidence)
    return claim


HEAVY_TAILS = {
    "heavy-tails": _heavy_tails("check_heavy_tails"),
    "heavy-tails-family": _heavy_tails("check_heavy_tails_family"),
}


def _squared(name: str):
    """The mean-squared-error claim ``name`` of ``squared.py`` (§3.9), imported on first use."""
    def claim(*args) -> dict:
        return getattr(import_module(".squared", __package__), name)(*args)
    return claim


# verdict -> claim(inst, instance, evidence, verdict) -> facts; each raises ``Reject`` on a failed rule.
CLAIMS = {
    "unsafe": check_unsafe,
    "safe": check_safe,
    "threshold": check_threshold,
    "safest": check_threshold,          # the threshold claim, and a cover (§3.4)
    "interval": check_interval,
    "regularised-unsafe": _regularised("check_unsafe"),
    "regularised-safe": _regularised("check_safe"),
    "regularised-interval": _regularised("check_interval"),
    "squared-unsafe": _squared("check_unsafe"),
    "squared-safe": _squared("check_safe"),
    "squared-threshold": _squared("check_threshold"),
}


def check_certificate(document) -> dict:
    """Verify a parsed certificate; return facts about it or raise ``Reject``."""
    document = obj(document, "format", "certificate")
    require(document.get("format") == FORMAT, "format", f"format must be {FORMAT!r}")
    keys_within(document, {"format", "instance", "verdict", "evidence", "comment", "producer"}, "format",
                "certificate")
    producer = _producer(document.get("producer"))
    verdict = document.get("verdict")
    require(isinstance(verdict, str) and (verdict in CLAIMS or verdict in HEAVY_TAILS), "verdict",
            f"unknown verdict {show(verdict)}")
    if verdict in HEAVY_TAILS:
        facts = HEAVY_TAILS[verdict](obj(document.get("instance"), "ht-instance", "instance"), document.get("evidence"))
        return facts if producer is None else {**facts, "producer": producer}
    instance = obj(document.get("instance"), "model", "instance")
    inst = read_instance(instance, verdict)
    evidence = obj(document.get("evidence"), "evidence", "evidence")
    require(("regularisation" in instance) == verdict.startswith("regularised-"), "reg-instance",
            "instance.regularisation goes with the regularised verdicts, and only with them")
    require((instance.get("error") == "squared") == verdict.startswith("squared-"), "sq-instance",
            "instance.error = \"squared\" goes with the squared verdicts, and only with them")
    facts = CLAIMS[verdict](inst, instance, evidence, verdict)
    return facts if producer is None else {**facts, "producer": producer}


def _producer(value) -> str | None:
    """``producer`` (optional, decides nothing): ``{"name": ..., "version": ...}``, reported as text."""
    if value is None:
        return None
    value = obj(value, "format", "producer")
    keys_within(value, {"name", "version"}, "format", "producer")
    parts = [value.get("name"), value.get("version")]
    require(all(isinstance(p, str) and 0 < len(p) <= 100 for p in parts), "format",
            "producer.name and producer.version must be non-empty strings of at most 100 characters")
    return f"{parts[0]} {parts[1]}"
