"""The λ = 0 engine: the branch and bound for ε*(D), its results, family occupancy bounds, workers."""
