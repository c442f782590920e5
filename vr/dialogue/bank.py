"""A line bank ready for choosing: lines indexed by role, band and intent; where they live.

``LineBank`` wraps a validated ``LineBankConfig`` (vr/config/lines.py) with the lookups the
chooser needs. ``bank_for_scene`` finds the bank for a scene in ``dialogue/``; ``vetted_lines``
gives the session core the id -> text map it checks every spoken line against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vr.config.lines import BANDS, LineBankConfig, LineConfig

ROOT = Path(__file__).resolve().parents[2]
DIALOGUE_DIR = ROOT / "dialogue"


@dataclass(frozen=True)
class Cue:
    """One example patient utterance and the line it is answered by."""

    text: str
    line: int


class LineBank:
    """The lines of one bank with the lookups the chooser needs."""

    def __init__(self, config: LineBankConfig, sha256: str = "") -> None:
        self.config = config
        self.name = config.name
        self.sha256 = sha256
        self.lines: tuple[LineConfig, ...] = config.lines
        self.by_id = {line.id: i for i, line in enumerate(self.lines)}
        self.cues = tuple(Cue(text, i) for i, line in enumerate(self.lines) for text in line.answers)

    def line(self, line_id: str) -> LineConfig:
        return self.lines[self.by_id[line_id]]

    def indices(self, *, role: str, band: str, intents: tuple[str, ...] = (), replies: bool | None = None) -> list[int]:
        """Lines of ``role`` in ``band`` with any of ``intents`` (all when empty); ``replies``:
        True for lines with example answers, False for lines without, None for both."""
        out = []
        for i, line in enumerate(self.lines):
            if line.role != role or line.band != band:
                continue
            if intents and not set(intents) & set(line.intents):
                continue
            if replies is not None and bool(line.answers) != replies:
                continue
            out.append(i)
        return out

    def gentler(self, band: str) -> list[str]:
        """``band`` and every gentler band, nearest first: a line is never harsher than asked."""
        k = BANDS.index(band)
        return [BANDS[j] for j in range(k, -1, -1)]

    def role_for(self, role: str | None) -> str:
        return role if role and role in self.config.roles else self.config.default_role


def bank_path(name: str, directory: Path = DIALOGUE_DIR) -> Path:
    return directory / f"{name}.yaml"


def load_bank(name: str, directory: Path = DIALOGUE_DIR) -> LineBank:
    """The bank called ``name`` (a scene name or 'companion'); ``ConfigError`` if it is broken."""
    from vr.config.load import load_lines

    loaded = load_lines(bank_path(name, directory))
    return LineBank(loaded.config, loaded.sha256)


def bank_for_scene(scene: str, directory: Path = DIALOGUE_DIR) -> LineBank | None:
    """The scene's bank, or None when the scene has none (its humans then stay silent)."""
    if not bank_path(scene, directory).is_file():
        return None
    return load_bank(scene, directory)


def line_bands(*banks: LineBank | None) -> dict[str, str]:
    """Line id -> band over ``banks``: how harsh each line a clinician may pick is."""
    return {line.id: line.band for bank in banks if bank is not None for line in bank.lines}


def vetted_lines(*banks: LineBank | None) -> dict[str, str]:
    """Line id -> exact text over ``banks``: the only lines a session accepts."""
    out: dict[str, str] = {}
    for bank in banks:
        if bank is not None:
            out.update({line.id: line.text for line in bank.lines})
    return out
