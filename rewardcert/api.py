"""Numbers at the Python API's door: every public function reads them like the CLI does.

``exact_api(function)`` wraps a public function so that its numeric
parameters (``EXACT_SCALARS``) and number sequences (``EXACT_VECTORS``) accept
``Fraction``, ``int``, ``"p/q"`` and decimal strings, and refuse a ``float``
with the command line's message (a ``RewardcertError``).  New public
functions get the same treatment by being listed in ``rewardcert.__init__``'s
``_EXACT_API`` (or by ``rewardcert.symbolic.core.numbers.exact_arguments`` directly).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from rewardcert.symbolic.core.numbers import exact_arguments
from rewardcert.symbolic.core.results import CheckResult

EXACT_SCALARS = ("regret_bound", "epsilon", "stop_below")
EXACT_VECTORS = ("data", "reward", "values")


def exact_api(function):
    parameters = inspect.signature(function).parameters
    scalars = tuple(name for name in EXACT_SCALARS if name in parameters)
    vectors = tuple(name for name in EXACT_VECTORS if name in parameters)
    if not scalars and not vectors:
        return function
    return exact_arguments(*scalars, vectors=vectors)(function)


@dataclass(frozen=True)
class CertificateCheck:
    """What the standalone checker said of a certificate."""

    status: CheckResult
    rule: str | None          # the first failed rule, when rejected
    message: str
    facts: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.status is CheckResult.VERIFIED


def check_certificate(certificate) -> CertificateCheck:
    """The checker's verdict on ``certificate``: a path (``str`` or ``os.PathLike``), its JSON text
    (a ``str`` or ``bytes`` whose first non-blank character is ``{``) or the parsed ``dict``."""
    import json
    import os

    from rewardcert.proofs import checker
    if isinstance(certificate, dict):
        status, message, facts = checker.check_document(json.loads(json.dumps(certificate)))
    elif isinstance(certificate, bytes) or isinstance(certificate, str) and certificate.lstrip().startswith("{"):
        text = certificate.decode("utf-8", "replace") if isinstance(certificate, bytes) else certificate
        try:
            document = checker.parse_json(text)
        except (ValueError, RecursionError) as exc:
            status, message, facts = "unreadable", f"{type(exc).__name__}: {exc}", {}
        else:
            status, message, facts = checker.check_document(document)
    elif isinstance(certificate, (str, os.PathLike)):
        status, message, facts = checker.check_file(os.fspath(certificate))
    else:
        raise TypeError(f"check_certificate takes a path, JSON text or a dict, not {type(certificate).__name__}")
    facts = dict(facts)
    rule = facts.pop("rule", None) if status == "rejected" else None
    return CertificateCheck(CheckResult(status), rule, message, facts)
