"""The exact and rigorous mathematics of rewardcert, in layers (docs/design.md, "Layout").

``core`` (the model, numbers, files, errors) ← ``exact`` (rational algebra, evaluation, the family
LP) ← ``guidance`` (floats that only propose) ← ``search`` (the λ = 0 branch and bound) and
``rigorous`` (arb enclosures) ← ``regularised`` (λ > 0, preference error) ← ``optimisers``
(Best-of-n, policy gradient, heavy tails) ← ``paper`` (each result of the paper on an instance).
A module imports only from its own package and the layers below it (tests/test_layout.py).
"""
