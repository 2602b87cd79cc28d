"""Certificates (``docs/certificate-format.md``) written from engine results: the untrusted
producer.  ``proofs/checker.py`` is the trusted checker and shares no code with it.

``common`` holds what every kind shares (the instance, the return evidence, the text and its size
limits), ``exact`` the λ = 0 kinds, ``squared`` the mean-squared error's, ``regularised`` the λ > 0 and preference kinds, and ``replay``
the one path by which every command writes a certificate: replayed by the checker first.
"""

from .common import (
                     CHECKER_MAX_ACTIONS,
                     CHECKER_MAX_BYTES,
                     CHECKER_MAX_PAIRS,
                     CHECKER_MAX_STATES,
                     FORMAT,
                     CertificateTooLarge,
                     certificate_text,
                     check_certifiable,
                     check_certificate_document,
                     check_number_sizes,
                     write_certificate,
)
from .exact import (
                     family_tree,
                     interval_certificate,
                     safest_certificate,
                     safety_certificate,
                     threshold_certificate,
                     unsafe_certificate,
                     witness_document,
)
from .regularised import regularised_certificate
from .replay import not_replayed, write_checked
from .squared import squared_certificate

__all__ = [
    "CHECKER_MAX_ACTIONS", "CHECKER_MAX_BYTES", "CHECKER_MAX_PAIRS", "CHECKER_MAX_STATES", "FORMAT",
    "CertificateTooLarge", "certificate_text", "check_certifiable", "check_certificate_document",
    "check_number_sizes", "write_certificate", "family_tree", "interval_certificate", "safest_certificate",
    "safety_certificate", "threshold_certificate", "unsafe_certificate", "witness_document",
    "regularised_certificate", "not_replayed", "write_checked", "squared_certificate",
]
