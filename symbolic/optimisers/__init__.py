"""The related optimisers: Best-of-n and its relatives, policy gradient, heavy-tailed error."""
