"""The meaning half of the risk screen: how close the patient's words come to risk, by the sentence model.

``RiskScreen.score`` embeds the words, and each part of them (sentences, clauses, and windows of
long run-on speech as a recogniser writes it), with the same model that chooses the humans'
lines, and compares every part with the authored exemplars in ``risk_exemplars.yaml``: per risk
kind, and with the near misses ("I'm dying of embarrassment"). It returns the numbers for the
part that points most strongly to risk, as a ``vr.sim.risk.ScreenScore``; the session core
decides with ``vr.sim.risk.semantic_alert`` whether they alert. The screen itself never alerts,
quiets or chooses anything.

Only the sentence model reads meaning: with the lexical stand-in (no model) the screen is off
(``available`` is False) and the phrases in ``vr.sim.risk`` are all there is; the clinician is told.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from vr.dialogue.embed import Embedder, Lexical, cached_matrix
from vr.sim.risk import KINDS, ScreenScore, detect, normalise, semantic_alert, semantic_strength

EXEMPLARS = Path(__file__).with_name("risk_exemplars.yaml")
MAX_CHARS = 1000        # as the chooser: a longer utterance is cut
WINDOW_WORDS = 8        # a long part is also read in windows of this many words ...
WINDOW_STEP = 4         # ... this far apart
LONG_WORDS = 12         # ... when it has more words than this
MIN_WORDS = 3          # a clause shorter than this ("I'm", "nervous") says nothing on its own
MAX_PARTS = 48          # an enormous utterance costs at most this many embeddings
_CLAUSE = re.compile(r"[.!?;:,\n]+|\s(?:but|and then|so|because|cause|though|anyway)\s", re.IGNORECASE)


@dataclass(frozen=True)
class Exemplars:
    """The authored exemplars: risk sentences with their kind, and near misses."""

    texts: tuple[str, ...]
    kinds: tuple[str, ...]      # a risk kind, or "safe"
    sha256: str


def load_exemplars(path: Path = EXEMPLARS) -> Exemplars:
    """The exemplar file, checked: every kind present, plain non-empty strings, no unknown keys."""
    raw = path.read_bytes()
    data = yaml.safe_load(raw)
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise ValueError(f"{path}: not a risk exemplar file (schema_version: 1 and one list per kind expected)")
    unknown = set(data) - {"schema_version", "safe", *KINDS}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; allowed: {', '.join((*KINDS, 'safe'))}")
    texts: list[str] = []
    kinds: list[str] = []
    for kind in (*KINDS, "safe"):
        items = data.get(kind)
        if not isinstance(items, list) or not items or not all(isinstance(t, str) and t.strip() for t in items):
            raise ValueError(f"{path}: '{kind}' must be a non-empty list of sentences")
        texts += [t.strip() for t in items]
        kinds += [kind] * len(items)
    return Exemplars(tuple(texts), tuple(kinds), hashlib.sha256(raw).hexdigest())


def parts(text: str) -> list[str]:
    """The whole utterance, its clauses, and windows of long clauses (run-on recognised speech);
    then the same of its normalised form, with misspelt key words put right (``vr.sim.risk``)."""
    text = " ".join(text[:MAX_CHARS].split())
    out = _parts(text, [])
    respelt = normalise(text)
    if respelt and respelt != text.lower():
        _parts(respelt, out)
    return out[:MAX_PARTS]


def _parts(text: str, out: list[str]) -> list[str]:
    if text not in out:
        out.append(text)
    for clause in _CLAUSE.split(text):
        words = clause.split()
        if len(words) < MIN_WORDS:
            continue
        joined = " ".join(words)
        if joined not in out:
            out.append(joined)
        if len(words) > LONG_WORDS:
            for start in range(0, len(words) - WINDOW_WORDS + WINDOW_STEP, WINDOW_STEP):
                window = " ".join(words[start:start + WINDOW_WORDS])
                if window not in out:
                    out.append(window)
    return out


class RiskScreen:
    """Scores utterances against the exemplars with one embedder (the sentence model)."""

    def __init__(self, embedder: Embedder | None, exemplars: Exemplars | None = None,
                 cache_dir: Path | None = None) -> None:
        self.exemplars = exemplars or load_exemplars()
        self.available = embedder is not None and not isinstance(embedder, Lexical)
        self.embedder = embedder
        self.model = embedder.name if self.available else ""
        if self.available:
            matrix = cached_matrix(embedder, list(self.exemplars.texts), f"risk-{self.exemplars.sha256[:12]}",
                                   cache_dir)
            kinds = np.asarray(self.exemplars.kinds)
            self._risk = matrix[kinds != "safe"]
            self._risk_kind = kinds[kinds != "safe"]
            self._risk_text = np.asarray(self.exemplars.texts)[kinds != "safe"]
            self._safe = matrix[kinds == "safe"]

    def score(self, text: str, screen: int = 0) -> ScreenScore:
        """The numbers for the part of ``text`` that points most strongly to risk."""
        if not self.available or not isinstance(text, str) or not text.strip():
            return ScreenScore(screen, "", 0.0, 0.0, model=self.model)
        pieces = parts(text)
        vectors = self.embedder.encode(pieces)
        risk = vectors @ self._risk.T          # (parts, risk exemplars)
        safe = (vectors @ self._safe.T).max(axis=1)
        nearest = risk.argmax(axis=1)
        best_sim = risk[np.arange(len(pieces)), nearest]
        strength = [semantic_strength(float(s), float(n)) for s, n in zip(best_sim, safe)]
        i = int(np.argmax(strength))
        j = int(nearest[i])
        return ScreenScore(screen, str(self._risk_kind[j]), round(float(best_sim[i]), 4), round(float(safe[i]), 4),
                           str(self._risk_text[j]), pieces[i][:200], self.model)


def verdict(screen: RiskScreen, text: str) -> tuple[str | None, str, ScreenScore | None]:
    """What the session core would conclude for ``text``: ``(kind or None, 'phrase' | 'meaning' | '',
    score)``, by the same rules (``vr.sim.risk.detect`` first, then ``semantic_alert``)."""
    phrase = detect(text)
    if phrase is not None:
        return phrase.category, "phrase", None
    if not screen.available:
        return None, "", None
    score = screen.score(text)
    if semantic_alert(score.similarity, score.safe_similarity):
        return score.kind, "meaning", score
    return None, "", score
