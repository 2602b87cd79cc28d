"""Core: the model, exact numbers, files, policies, errors and frozen results (imports nothing else)."""
