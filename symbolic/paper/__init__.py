"""The paper's results by section, on an instance (``index.py`` maps each label to its function)."""
