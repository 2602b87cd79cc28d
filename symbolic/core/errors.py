"""The toolkit's errors: one root, and messages that say what to fix and where."""

from __future__ import annotations


class RewardcertError(Exception):
    """Root of every error rewardcert raises on purpose.

    ``file``, ``table`` and ``entry`` locate the problem in an input file so
    the message can name it: ``model.toml: [reward.s] a4: unknown action``.
    """

    def __init__(self, message: str, *, file: str | None = None,
                 table: str | None = None, entry: str | None = None):
        self.message = message
        self.file = file
        self.table = table
        self.entry = entry
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"{self.file}:")
        if self.table:
            where.append(f"[{self.table}]")
        if self.entry:
            where.append(f"{self.entry}:")
        elif self.table:
            where[-1] += ":"
        return " ".join(where + [self.message])

    def located(self, *, file: str | None = None) -> "RewardcertError":
        """The same error, with the file filled in if it was not known yet."""
        if self.file or not file:
            return self
        return type(self)(self.message, file=file, table=self.table, entry=self.entry)


class ModelError(RewardcertError):
    """A model, data or parameter input is malformed or out of range."""


class BackendUnavailable(RewardcertError):
    """An optional solver backend is not installed or not usable."""


class ResourceLimit(RewardcertError):
    """An input is larger than the toolkit is willing to hold or enumerate."""
