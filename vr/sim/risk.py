"""Risk in the patient's own words: self-harm, crisis, a medical emergency.

Part of the session core because it is a safety rule: it runs inside the step on every patient
utterance, in microseconds, with no model that could be missing, slow or hung. It errs on the
side of alerting (a negated phrase such as "I'm not going to hurt myself" still alerts: the
clinician decides, not a parser). Phrases are matched on a normalised form of the words
(lower case, accents and punctuation removed, contractions spelt out), in English and, for the
most direct phrases, Spanish, French and German.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# category -> phrases (regular expressions over normalised text; word boundaries added around each)
PHRASES: dict[str, tuple[str, ...]] = {
    "self_harm": (
        r"(kill|hurt|harm|cut|burn|hang|poison) (myself|my self)", r"end (it all|my life|things)",
        r"suicid\w*", r"(want|wish|going|planning) to die", r"(do not|dont) want to (live|be alive|wake up)",
        r"better off dead", r"no (reason|point) (to|in) (live|living|going on)", r"take my (own )?life",
        r"overdose", r"self harm\w*",
        # es / fr / de
        r"quiero morir\w*", r"matarme", r"suicidarme", r"je veux mourir", r"me suicider", r"me tuer",
        r"ich will sterben", r"mich umbringen", r"selbstmord",
    ),
    "crisis": (
        r"(can not|cannot|cant) (go on|take (it|this) any ?more|cope)", r"(i am|im) (in danger|not safe)",
        r"(someone|somebody) is (hurting|hitting|threatening) me", r"(going|want) to hurt (someone|somebody|them)",
        r"(having|have) a panic attack", r"(i am|im) (losing|going to lose) (it|my mind|control)",
        r"(somebody|someone) help me", r"help me now", r"please stop (this|it) now", r"i need (help|to stop) now",
        r"necesito ayuda ya", r"au secours", r"hilfe bitte",
    ),
    "medical": (
        r"chest (pain|hurts)", r"(can not|cannot|cant) breathe?", r"(trouble|difficulty) breathing",
        r"heart attack", r"(going to|about to|might) (faint|pass out|black out|be sick|throw up|vomit)",
        r"(feel|feeling|am|im) (faint|very dizzy)", r"seizure", r"(allergic|anaphyla)\w*",
        r"(i am|im) bleeding", r"my heart is (racing|pounding) (and|so)", r"numb (arm|face)",
        r"no puedo respirar", r"dolor (en el|de) pecho", r"je ne peux (pas|plus) respirer",
        r"kann nicht atmen", r"brustschmerz\w*",
    ),
}
CONTRACTIONS = ((r"\bcan't\b", "cant"), (r"\bdon't\b", "dont"), (r"\bi'm\b", "im"), (r"\bwon't\b", "wont"),
                (r"\bit's\b", "its"), (r"\bi've\b", "ive"))
MAX_CHARS = 4000
_COMPILED = {cat: re.compile(r"\b(" + "|".join(p) + r")\b") for cat, p in PHRASES.items()}
ORDER = ("self_harm", "medical", "crisis")  # the most urgent category is reported first


@dataclass(frozen=True)
class Risk:
    """A risk found in an utterance: its category and the words that matched."""

    category: str
    phrase: str


def normalise(text: str) -> str:
    """Lower case, no accents, contractions spelt the same way, punctuation as spaces."""
    text = unicodedata.normalize("NFKD", text[:MAX_CHARS]).encode("ascii", "ignore").decode()
    text = text.lower().replace("\u2019", "'")
    for pattern, repl in CONTRACTIONS:
        text = re.sub(pattern, repl, text)
    text = text.replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def detect(text: str) -> Risk | None:
    """The most urgent risk in ``text``, or None. Never raises on any input."""
    if not isinstance(text, str) or not text.strip():
        return None
    norm = normalise(text)
    for category in ORDER:
        m = _COMPILED[category].search(norm)
        if m:
            return Risk(category, m.group(0))
    return None
