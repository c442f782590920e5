"""Problems found in a clinician's file, reported as ``file:line:col: what; fix``.

A file is checked completely before anything is reported, so one run of ``vr validate``
lists every mistake in it, not only the first.
"""

from __future__ import annotations

from dataclasses import dataclass

from vr.config.text import printable


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in one file. ``line`` and ``col`` count from 1 (0 when unknown)."""

    file: str
    line: int
    col: int
    message: str
    fix: str = ""

    def __str__(self) -> str:
        """One line, safe to print: a file name or quoted content never sends a control character raw."""
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        text = f"{where}: {self.message}"
        return printable(f"{text}; {self.fix}" if self.fix else text)


class ConfigError(Exception):
    """A profile, scene or other YAML file that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
