"""The one exception tree of mratrust.

::

    MratrustError                 anything mratrust raises on purpose
     ├── InputError               bad flag, unreadable inventory or certificate file (exit 2)
     ├── ProbeError               a handshake could not be made (becomes an ``error`` finding)
     └── LabError                 the lab could not start or stop (exit 2)

Non-compliance is never an exception: it is a :class:`mratrust.model.Finding`.
"""

from __future__ import annotations

from pathlib import Path


class MratrustError(Exception):
    """Base class of every error mratrust raises on purpose."""


class InputError(MratrustError):
    """Input that cannot be used: names the file, the line and the field, and what to do."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """One line: ``file:line: field: message; hint``."""
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{where}{field}{self.message}{hint}"


class InputErrors(InputError):
    """Several input errors found together (every referenced file is checked before stopping)."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(e.render() for e in errors) if errors else "input error")

    def render(self) -> str:
        if not getattr(self, "errors", ()):
            return super().render()
        return "\n".join(e.render() for e in self.errors)


class ProbeError(MratrustError):
    """A handshake could not be made or completed; carries a classified reason."""

    def __init__(self, message: str, *, reason: str = "error") -> None:
        self.reason = reason
        super().__init__(message)


class LabError(MratrustError):
    """The lab could not start, stop or be found."""
