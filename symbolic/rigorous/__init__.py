"""Rigorous enclosures (FLINT ``arb``, outward rounding) and the soft Bellman optimum."""
