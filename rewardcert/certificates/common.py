"""What every certificate kind shares: the format, the instance and return evidence, the text, its size limits."""

from __future__ import annotations

import json
import os
import re
from fractions import Fraction
from typing import Any, Sequence

from rewardcert.symbolic.core.errors import ResourceLimit
from rewardcert.symbolic.core.io import data_to_document, model_to_document
from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.numbers import (
    MAX_NUMBER_CHARS,
    format_rational,
)

FORMAT = "rewardcert/certificate-1"


_NO_EPSILON = object()


def instance_document(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, *,
                      epsilon: Fraction | None | object = _NO_EPSILON, extra: dict | None = None) -> dict:
    """``instance`` of a certificate (format §2): the model, ``D``, ``ε`` (``None``: ``"inf"``; omitted
    when not given, as regularised certificates do) and ``L``, then ``extra`` (the regularisation)."""
    document = {"model": model_to_document(mdp), "data": data_to_document(mdp, data)["data"]}
    if epsilon is not _NO_EPSILON:
        document["epsilon"] = "inf" if epsilon is None else format_rational(epsilon)
    document["regret_bound"] = format_rational(regret_bound)
    if extra:
        document.update(extra)
    return document


def return_evidence(mdp: MDP, bounds) -> dict:
    """The uniformly optimal and pessimal policies that pin ``J*`` and ``J^min`` (format §3)."""
    return {"optimal_policy": mdp.policy_to_mapping(bounds.optimal_policy),
            "pessimal_policy": mdp.policy_to_mapping(bounds.pessimal_policy)}


class CertificateTooLarge(ResourceLimit):
    """The certificate's text would exceed what the checker reads (``CHECKER_MAX_BYTES``)."""


INDENT_UP_TO = 256 * 1024
"""A certificate whose compact JSON is at most this long is written indented, for people to read;
a larger one stays compact.  Indentation tripled the size of deep search trees: the 4x4 lake's
certificate at L = 1/2 has 108 MB indented and 35 MB compact."""


def certificate_text(path: str | os.PathLike, certificate: dict) -> str:
    """The JSON text of ``certificate``, with its ``producer`` (format §1); ``CertificateTooLarge``
    (naming ``path``) if the checker would refuse to read it, and ``ResourceLimit`` for a number it
    would refuse."""
    certificate = with_producer(certificate)
    text = json.dumps(certificate, separators=(",", ":"), ensure_ascii=False)
    if _LONG_STRING.search(text):      # some number may be too long: walk the document to name it
        check_number_sizes(certificate)
    if len(text) <= INDENT_UP_TO:
        text = json.dumps(certificate, indent=1, ensure_ascii=False)
    text += "\n"
    size = len(text.encode("utf-8"))
    if size > CHECKER_MAX_BYTES:
        raise CertificateTooLarge(f"the certificate would have {size} bytes, and the checker reads at most "
                                  f"{CHECKER_MAX_BYTES}; no certificate was written", file=os.fspath(path))
    return text


def with_producer(certificate: dict) -> dict:
    """``certificate`` with ``producer`` (this toolkit and its version) right after ``format``; the
    checker reports it and decides nothing by it."""
    from .. import __version__
    producer = {"name": "rewardcert", "version": __version__}
    out = {}
    for key, value in certificate.items():
        if key != "producer":
            out[key] = value
        if key == "format":
            out["producer"] = producer
    return out


def write_certificate(path: str | os.PathLike, certificate: dict, *, stdout=None, text: str | None = None) -> None:
    """Write ``certificate`` atomically (``rewardcert/output.py``); ``-`` is standard output.
    A missing parent directory is an error; an existing file survives any failure."""
    from ..output import write_text
    if text is None:
        text = certificate_text(path, certificate)
    write_text(path, text, what="certificate", stdout=stdout)


_NUMBER = re.compile(r"[+-]?\d+(/\d+)?", re.ASCII)

# The standalone checker's own size limits (proofs/checker.py imports nothing from here; a test
# keeps these equal to its constants).  They are smaller than the loader's, so a model can be
# fine to analyse and still too large to certify: that is refused before any work (exit 2).
CHECKER_MAX_STATES = 10_000

CHECKER_MAX_ACTIONS = 1_000

CHECKER_MAX_PAIRS = 100_000

CHECKER_MAX_BYTES = 256 * 1024 * 1024


def check_certifiable(mdp: MDP) -> None:
    """Refuse (``ResourceLimit``) a model whose certificate the checker would refuse for its size."""
    for what, count, limit in (("states", mdp.n_states, CHECKER_MAX_STATES),
                               ("actions", mdp.n_actions, CHECKER_MAX_ACTIONS),
                               ("state-action pairs", mdp.n_pairs, CHECKER_MAX_PAIRS)):
        if count > limit:
            raise ResourceLimit(f"the model has {count} {what}, and the certificate checker accepts at most "
                                f"{limit}, so no certificate can be written; run without --out",
                                entry="--out")


_LONG_STRING = re.compile(r'"[^"]{%d,}"' % (MAX_NUMBER_CHARS + 1))
"""A number past ``MAX_NUMBER_CHARS`` is written as a JSON string that long, with no quote or
escape in it, so a text without such a string needs no walk.  The search is linear (it starts only
at quotes): 0.2 s on the lake's 78 MB certificate at L = 3/4, against 1.7 s for the walk over its
objects and 1.0 s for a search for a long run of digits, which restarts inside every run."""


def check_number_sizes(certificate: Any) -> None:
    """Refuse (``ResourceLimit``, exit 2) a certificate holding a number longer than the
    checker's limit, naming where.  Inputs are held to the limit when read
    (``rewardcert.symbolic.core.numbers.MAX_NUMBER_CHARS``); a number the engine derives from them (a
    critical error, a witness reward, a state value) can still outgrow it."""
    if not _has_long_number(certificate):
        return
    stack: list[tuple[Any, str]] = [(certificate, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, str) and len(value) > MAX_NUMBER_CHARS and _NUMBER.fullmatch(value):
            raise ResourceLimit(f"the certificate would hold a number of {len(value)} characters at {where}, "
                                f"beyond the checker's limit of {MAX_NUMBER_CHARS}; no certificate was written "
                                "(use numbers with shorter fractions in the model or the data)")


def _has_long_number(document: Any) -> bool:
    """Whether ``document`` holds a number longer than the checker's limit; the scan builds no
    location strings (``check_number_sizes`` then walks again, naming where)."""
    stack = [document]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is dict:
            stack.extend(value.values())
        elif kind is list or kind is tuple:
            stack.extend(value)
        elif kind is str:
            if len(value) > MAX_NUMBER_CHARS and _NUMBER.fullmatch(value):
                return True
        elif isinstance(value, (dict, list, str)):      # a subclass: the careful walk decides
            return True
    return False


def check_certificate_document(certificate: dict[str, Any]) -> tuple[str, str, dict]:
    """Run the standalone checker on an in-memory certificate."""
    from rewardcert.proofs import checker
    return checker.check_document(json.loads(json.dumps(certificate)))
