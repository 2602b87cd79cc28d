"""Safety at λ > 0 and under the preference error: the problem, witness search, box search."""
