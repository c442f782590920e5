"""Choosing a vetted line: a reply to the patient's words, or a line a human starts by itself.

Replies: the patient's words are embedded and compared with every example answer of the lines
the speaker's role may say in the step's band; the line whose example is closest wins. Lines
said recently are held back (a small penalty, so a clearly best line still wins), and a best
match below the similarity floor gets a generic acknowledgement of the band instead. If the band
has nothing for the role, the next gentler band is used: never a harsher one.

Openers: a line of the role and band with the asked intent, not said recently, drawn with a
generator seeded by the session seed and the request number, so the same session makes the same
choices.

Every ``Choice`` carries a line from the bank, whatever the input: empty, enormous, another
language or an attempt to instruct the model (which has no instructions to follow: it only
measures closeness to the examples).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vr.config.lines import band_for
from vr.dialogue.bank import LineBank
from vr.dialogue.embed import Embedder, Lexical, cached_matrix, similarity_floor

RECENT_PENALTY = 0.12
TEXT_WEIGHT = 0.4   # the line's own words count too, a little: they say what it is about
# What a self-started turn of the session core asks for, by band: the intents that fit.
OPENER_INTENTS = {
    "question": ("question", "follow_up"),
    "remark": ("small_talk", "critique", "encouragement", "reassurance", "instruction", "greeting"),
}
ACKNOWLEDGE = ("answer",)


@dataclass(frozen=True)
class Choice:
    line_id: str
    text: str
    band: str
    role: str
    similarity: float | None   # None for openers and fallbacks
    method: str                # model | lexical | generic | opener | fallback | clinician


class Chooser:
    """Chooses lines from one bank with one embedder (MiniLM, or ``Lexical`` when none)."""

    def __init__(self, bank: LineBank, embedder: Embedder | None, seed: int = 0, cache_dir: Path | None = None) -> None:
        self.bank = bank
        self.seed = seed
        cue_texts = [c.text for c in bank.cues]
        self.embedder: Embedder = embedder if embedder is not None else Lexical(cue_texts + [l.text for l in bank.lines])
        self.method = "lexical" if isinstance(self.embedder, Lexical) else "model"
        self.cue_matrix = (cached_matrix(self.embedder, cue_texts, f"{bank.name}-{bank.sha256[:12]}", cache_dir)
                           if cue_texts else np.zeros((0, 1), np.float32))
        self.cue_line = np.array([c.line for c in bank.cues], dtype=np.int64)
        self.text_matrix = cached_matrix(self.embedder, [l.text for l in bank.lines],
                                         f"{bank.name}-text-{bank.sha256[:12]}", cache_dir)
        self.floor = similarity_floor(self.embedder)

    # -- replies -------------------------------------------------------------------------------------
    def reply(self, words: str, *, band: str, role: str | None = None, recent: tuple[str, ...] = (),
              request: int = 0) -> Choice:
        """The line that best answers ``words`` in ``band`` (or gentler) for ``role``."""
        role = self.bank.role_for(role)
        text = words if isinstance(words, str) else ""
        if text.strip() and len(self.cue_line):
            query = self.embedder.encode([text])[0]
            scores = self.cue_matrix @ query
            text_scores = self.text_matrix @ query
            for b in self.bank.gentler(band):
                allowed = self.bank.indices(role=role, band=b, replies=True)
                if not allowed:
                    continue
                mask = np.isin(self.cue_line, allowed)
                if not mask.any():
                    continue
                best = self._best_line(scores, text_scores, mask, recent)
                if best is not None and best[1] >= self.floor:
                    line = self.bank.lines[best[0]]
                    return Choice(line.id, line.text, line.band, role, round(best[1], 4), self.method)
                break  # the band has replies but none fits: acknowledge in the same band
        return self.generic(band=band, role=role, recent=recent, request=request, method="generic")

    def _best_line(self, scores: np.ndarray, text_scores: np.ndarray, mask: np.ndarray,
                   recent: tuple[str, ...]) -> tuple[int, float] | None:
        """(line index, its best cue score): ranked by that score plus a little of the line's own
        text's similarity; recent lines penalised; ties go to the earlier line."""
        per_line: dict[int, float] = {}
        for cue in np.flatnonzero(mask):
            line = int(self.cue_line[cue])
            per_line[line] = max(per_line.get(line, -1.0), float(scores[cue]))
        if not per_line:
            return None
        recent_set = set(recent)

        def adjusted(item: tuple[int, float]) -> float:
            penalty = RECENT_PENALTY if self.bank.lines[item[0]].id in recent_set else 0.0
            return item[1] + TEXT_WEIGHT * float(text_scores[item[0]]) - penalty

        line, score = max(sorted(per_line.items()), key=adjusted)
        return line, score

    # -- lines nobody asked for ------------------------------------------------------------------------
    def generic(self, *, band: str, role: str | None = None, recent: tuple[str, ...] = (), request: int = 0,
                method: str = "generic") -> Choice:
        """A generic acknowledgement of ``band`` (or gentler): the answer when nothing fits."""
        return generic_line(self.bank, band=band, role=role, recent=recent, request=request, seed=self.seed,
                            method=method)

    def opener(self, *, intent: str, band: str, role: str | None = None, recent: tuple[str, ...] = (),
               request: int = 0) -> Choice:
        """A line a human starts by itself: ``intent`` 'question' or 'remark' (or a bank intent)."""
        role = self.bank.role_for(role)
        wanted = OPENER_INTENTS.get(intent, (intent,))
        for b in self.bank.gentler(band):
            pool = [i for i in self.bank.indices(role=role, band=b, intents=wanted)
                    if not self.bank.lines[i].answers or "answer" not in self.bank.lines[i].intents]
            if pool:
                return self._draw(pool, recent, request, role, "opener")
        return self.generic(band=band, role=role, recent=recent, request=request, method="opener")

    def _draw(self, pool: list[int], recent: tuple[str, ...], request: int, role: str, method: str) -> Choice:
        return _draw(self.bank, pool, recent, request, self.seed, role, method)


def _draw(bank: LineBank, pool: list[int], recent: tuple[str, ...], request: int, seed: int, role: str,
          method: str) -> Choice:
    """One of ``pool`` not said recently, drawn by the session seed and request number."""
    fresh = [i for i in pool if bank.lines[i].id not in set(recent)] or pool
    rng = np.random.default_rng([seed & 0xFFFFFFFF, request & 0xFFFFFFFF])
    line = bank.lines[fresh[int(rng.integers(len(fresh)))]]
    return Choice(line.id, line.text, line.band, role, None, method)


def generic_line(bank: LineBank, *, band: str, role: str | None = None, recent: tuple[str, ...] = (),
                 request: int = 0, seed: int = 0, method: str = "fallback") -> Choice:
    """A generic acknowledgement of ``band`` (or gentler), with no model at all: the answer when
    nothing fits, and the line said while the dialogue worker is not answering."""
    role = bank.role_for(role)
    for b in bank.gentler(band):
        pool = bank.indices(role=role, band=b, intents=ACKNOWLEDGE, replies=False)
        if pool:
            return _draw(bank, pool, recent, request, seed, role, method)
    for b in bank.gentler(band):  # a bank with no generic lines: any line of the role
        pool = bank.indices(role=role, band=b)
        if pool:
            return _draw(bank, pool, recent, request, seed, role, method)
    line = bank.lines[0]
    return Choice(line.id, line.text, line.band, line.role, None, method)


def band_of(intensity: float) -> str:
    return band_for(max(0.0, min(1.0, float(intensity))))
