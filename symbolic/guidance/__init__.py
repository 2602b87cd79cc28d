"""Floats that only propose: the float LP twin, numba kernels, HiGHS (the only highspy importer),
float value iteration, local search and redundancy hints.  Nothing here decides a verdict."""
