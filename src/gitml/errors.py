"""The one exception base of gitml.

Every error a user can cause is a GitmlError whose message says what is wrong
and how to fix it; the CLI prints it as one line and exits 1.
"""

from __future__ import annotations


class GitmlError(Exception):
    """An error with a message meant for the user."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class CommandError(GitmlError):
    """An external command (git, dvc, ...) failed."""

    def __init__(self, argv: list[str], returncode: int, output: str, *, hint: str | None = None) -> None:
        tail = output.strip().splitlines()[-1] if output.strip() else "no output"
        super().__init__(f"`{' '.join(argv)}` failed with exit code {returncode}: {tail}", hint=hint)
        self.argv = argv
        self.returncode = returncode
        self.output = output
