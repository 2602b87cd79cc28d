"""SMT layer: exact witness search and ε*(D) by z3 over linear real arithmetic (docs/theory.md §4).

z3 itself is imported only by ``smt.z3_backend``; importing this package does
not need z3, calling a search without it raises ``BackendUnavailable``.
"""

from rewardcert.smt.search import (
           MinimumResult,
           SearchResult,
           SearchVariables,
           encode_search,
           find_witness,
           minimise_error,
)

__all__ = ["MinimumResult", "SearchResult", "SearchVariables", "encode_search", "find_witness",
           "minimise_error"]
