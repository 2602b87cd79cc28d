"""Exact rational mathematics: linear algebra, sparse solves, policy evaluation, the family LP, duals."""
