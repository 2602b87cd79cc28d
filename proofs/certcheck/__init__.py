"""The rules of the certificate checker (``../checker.py`` is the entry point), standard library only.

One module per claim family (docs/certificate-format.md):

* ``reading``: rule names (``RULES``), ``Reject``/``require``, exact rationals, names and tables;
* ``instance``: the frozen, validated instance; ``linear``: the one exact linear solver;
* ``document``: the document's keys, and the table from verdict to claim function;
* λ = 0: ``unregularised`` (safe, unsafe, threshold, safest, and their shared evidence),
  ``families`` (the tree of policy families and its leaves), ``interval`` (§3.5);
* the mean-squared error at λ = 0 (App. B.3), imported only for its certificates: ``squared``
  (a KKT point per high-regret policy, §3.9);
* λ > 0, imported only for a regularised certificate: ``regularised`` (the three verdicts, box
  trees), ``softmax`` (soft and policy boxes), ``preference`` (the preference error), ``series``
  (rigorous ``exp`` and ``log``);
* heavy-tailed error under a KL penalty, imported only for such a certificate: ``heavy_tails_claims``
  (the two verdicts and their claims), ``heavy_tails`` (the bandit and the evidence's sections),
  ``tilts`` (tilts enclosed in fixed point), ``tail_families`` (the families' members, regenerated)."""

from .reading import RULES

__all__ = ["RULES"]
