"""Risk in the patient's own words: suicide, self-harm, a crisis, a medical emergency.

Two screens, both deciding inside the session core:

- **Phrases** (``detect``): regular expressions over a normalised form of the words (lower case,
  accents and punctuation removed, contractions spelt out, common misspellings of the key words
  put right), in English and, for the most direct phrases, Spanish, French and German. It runs in
  the step on every utterance, in microseconds, with no model that could be missing, slow or
  hung, so the most direct wordings alert in the very step they arrive.
- **Meaning** (``semantic_alert``): the dialogue worker embeds the words with the sentence model
  and measures how close they come to authored exemplars of each risk kind and to authored
  near misses ("I'm dying of embarrassment"); the numbers come back as a ``ScreenScore`` input,
  and the core decides here, with fixed thresholds, whether they alert. That catches paraphrase
  ("I've been thinking about ending my life", "everyone would be better off without me")
  within a worker round trip (tens of milliseconds), and replays exactly from the record.

Both err on the side of alerting: a negated phrase such as "I'm not going to hurt myself" still
alerts (the clinician decides, not a parser).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

KINDS = ("suicide", "self_harm", "medical", "crisis")   # in order of urgency: the first found is reported
# kind -> phrases (regular expressions over normalised text; word boundaries added around each)
PHRASES: dict[str, tuple[str, ...]] = {
    "suicide": (
        r"kill+ (myself|my self)", r"end(ing)? (it all|my life|my own life|things|it tonight|it for good)",
        r"suicid\w*", r"(want|wish|wanna|going|planning|ready|deserve) to (die|be dead)",
        r"(do not|dont|no longer) want to (live|be alive|be here|wake up|exist|go on)",
        r"better off (dead|without me|if i (was|were) (gone|dead|not here))", r"wish i (was|were) (dead|never born)",
        r"(no|(do not|dont|cant|can not|cannot) see (much |any |the )?)(reason|point) (to|in|of) (live|living|going on|"
        r"carrying on|being alive|being here|staying alive)", r"take my (own )?life",
        r"(took|take|taking|swallow\w*|saving( up)?) (all )?(my|the|those) pills", r"overdos\w*",
        r"not (wake|waking) up (again|ever)", r"never wake up", r"(hang|hanging|shoot|shooting|drown\w*) myself",
        r"(jump|jumping|step|stepping|throw\w* myself) (off|in front of|under) (a|the) (bridge|train|roof|building|car|bus)",
        r"say(ing)? goodbye (to everyone|for good|forever)", r"wont be (around|here) (much )?(longer|for long)",
        r"(life|living) (is not|isnt) worth (it|living)", r"(want|wish) (it|everything) to (be over|end) for good",
        r"(stop|cease) existing", r"(rather|prefer to) be dead",
        r"quiero morir\w*", r"matarme", r"suicidarme", r"je veux mourir", r"me suicider", r"me tuer",
        r"ich will sterben", r"mich umbringen", r"selbstmord",
    ),
    "self_harm": (
        r"(hurt|harm|cut|cutting|burn|burning|hit|hitting|punch\w*|scratch\w*|punish\w*|injur\w*|starv\w*) "
        r"(myself|my self)",
        r"(burn\w*|cut|cuts|cutting|scratch\w*|hit|hitting|punch\w*|bash\w*|bit|bite|biting) (myself|my \w+)"
        r"( \w+){0,5} on purpose",
        r"self (harm|injur)\w*", r"(cut|cuts|cutting|burn|burns|burning|scratch\w*) (my|on my) "
        r"(arms?|wrists?|legs?|thighs?|skin|body)", r"urge to (cut|hurt|harm)",
        r"(i am|im) (cutting|harming myself) again",
    ),
    "crisis": (
        r"(can not|cannot|cant) (go on|take (it|this) any ?more|cope|handle (it|this) any ?more)",
        r"(i am|im) (in danger|not safe)", r"(not|never) safe at home",
        r"(someone|somebody|he|she|my (partner|husband|wife|boyfriend|girlfriend|dad|father|mum|mom|mother)) "
        r"(is|keeps|has been|was)? ?(hurting|hitting|beating|threatening|abusing) me",
        r"(going|want|wanna|about) to (hurt|kill|attack) (someone|somebody|them|him|her|people)",
        r"(having|have|having a|in the middle of a) ?(a )?panic attack",
        r"(i am|im) (losing|going to lose) (it|my mind|control)",
        r"(he will|hell|she will|shell|they will|theyll) (hurt|kill|beat|hit) me", r"make me pay for it", r"(somebody|someone) help me", r"help me now",
        r"please stop (this|it|everything) now", r"i need (help|to stop) (right )?now", r"(i am|im) (being )?abused",
        r"necesito ayuda ya", r"au secours", r"hilfe bitte",
    ),
    "medical": (
        r"chest (pain|hurts|is (hurting|tight))", r"(pain|tight\w*) in my chest", r"(can not|cannot|cant) breathe?",
        r"(trouble|difficulty|struggling to|hard to) breath(e|ing)", r"(can not|cannot|cant) (get|catch) my breath",
        r"wheez\w*", r"heart attack", r"asthma attack",
        r"(going to|about to|might|gonna) (faint|pass out|black out|collapse|be sick|throw up|vomit)",
        r"(feel|feeling|am|im) (faint|very dizzy)", r"seizure", r"(allergic|anaphyla)\w*",
        r"(i am|im) bleeding", r"(bleeding|blood) (wont|will not) stop", r"my heart is (racing|pounding) (and|so)",
        r"numb (arm|face|side)", r"(arm|face|side) (has )?(gone|is|feels) numb", r"(throat|tongue|lips) (is |are )?swell\w*",
        r"no puedo respirar", r"dolor (en el|de) pecho", r"je ne peux (pas|plus) respirer",
        r"kann nicht atmen", r"brustschmerz\w*",
    ),
}
CONTRACTIONS = ((r"\bcan't\b", "cant"), (r"\bdon't\b", "dont"), (r"\bi'm\b", "im"), (r"\bwon't\b", "wont"),
                (r"\bit's\b", "its"), (r"\bi've\b", "ive"), (r"\bisn't\b", "isnt"))
# Key words a recogniser or a hurried typist gets wrong; a word within one edit of one of these
# (two for the long ones) is read as it. Only words of five letters or more are corrected, so
# short ordinary words ("fill", "bill") are never taken for "kill".
KEY_WORDS = ("suicide", "suicidal", "myself", "overdose", "breathe", "breathing", "seizure", "allergic",
             "unconscious", "attack", "scratch", "properly", "anymore", "someone", "boyfriend", "girlfriend")
# (Words with ordinary neighbours one letter away are left out: cutting/putting, hurting/hunting,
# pills/bills, heart/heard, faint/paint, bleeding/breeding, living/giving.)
# Spellings too short or too far off for the rule above, as typed in a hurry or heard by a recogniser.
SPELT_AS = {"kil": "kill", "kms": "kill myself", "unalive": "kill", "unaliving": "killing", "wanna": "want to",
            "gonna": "going to", "gona": "going to", "cuz": "because", "mysef": "myself", "myslef": "myself",
            "carnt": "cant", "cnt": "cant", "breth": "breath", "fant": "faint", "sik": "sick", "panik": "panic",
            "atack": "attack", "hart": "heart", "rite": "right", "propaly": "properly", "sumone": "someone",
            "sumones": "someones", "ded": "dead", "dye": "die", "liv": "live", "wana": "want to", "pils": "pills",
            "pushd": "pushed", "hitt": "hit", "cuting": "cutting", "hurtin": "hurting", "bleedin": "bleeding"}
MAX_CHARS = 4000
_COMPILED = {kind: re.compile(r"\b(" + "|".join(p) + r")\b") for kind, p in PHRASES.items()}

# The meaning screen's thresholds (cosine similarity with all-MiniLM-L6-v2's unit vectors), tuned
# on tests/data/risk_utterances.yaml: see docs/dialogue.md for the figures and what they miss.
SEMANTIC_CERTAIN = 0.80    # this close to a risk exemplar alerts whatever the near misses say
SEMANTIC_FLOOR = 0.52      # below this no meaning alert
SEMANTIC_MARGIN = 0.05     # between the two: it must be this much closer to risk than to any near miss


@dataclass(frozen=True)
class Risk:
    """A risk found in an utterance: its kind and the words that matched."""

    category: str
    phrase: str


@dataclass(frozen=True)
class ScreenScore:
    """What the sentence model made of one utterance (computed off the frame by the dialogue worker).

    ``screen`` is the number of the ``risk_screen_wanted`` event it answers. ``kind`` is the risk
    kind of the nearest risk exemplar ("" when none was compared), ``similarity`` the cosine with
    it and ``safe_similarity`` the cosine of the same part of the words (``segment``) with the
    nearest near-miss exemplar; ``exemplar`` is the risk exemplar's text; ``model`` the embedder.
    """

    screen: int
    kind: str
    similarity: float
    safe_similarity: float
    exemplar: str = ""
    segment: str = ""
    model: str = ""


def semantic_alert(similarity: float, safe_similarity: float) -> bool:
    """Whether a meaning score alerts: very close to a risk exemplar, or close and clearly closer
    to risk than to any near miss. The same rule picks the worker's best segment and decides here."""
    return similarity >= SEMANTIC_CERTAIN or (similarity >= SEMANTIC_FLOOR
                                              and similarity - safe_similarity >= SEMANTIC_MARGIN)


def semantic_strength(similarity: float, safe_similarity: float) -> float:
    """How strongly a score points to risk (higher is stronger), to rank the parts of the words."""
    if similarity >= SEMANTIC_CERTAIN:
        return 1.0 + similarity
    return min(similarity - SEMANTIC_FLOOR, similarity - safe_similarity - SEMANTIC_MARGIN)


def _edits_within(a: str, b: str, limit: int) -> bool:
    """Damerau-Levenshtein distance of ``a`` and ``b`` is at most ``limit`` (small words only)."""
    if abs(len(a) - len(b)) > limit:
        return False
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return False
        prev2, prev = prev, cur
    return prev[-1] <= limit


@functools.lru_cache(maxsize=8192)  # a pure function of one word: the step stays in microseconds
def respell(word: str) -> str:
    """``word``, or the key word it is a misspelling of (a misspelling keeps its first letter)."""
    if word in SPELT_AS:
        return SPELT_AS[word]
    if len(word) < 5 or word in KEY_WORDS:
        return word
    for key in KEY_WORDS:
        if key[0] == word[0] and _edits_within(word, key, 2 if len(key) >= 8 else 1):
            return key
    return word


def normalise(text: str) -> str:
    """Lower case, no accents, contractions spelt one way, punctuation as spaces, key words respelt."""
    text = unicodedata.normalize("NFKD", text[:MAX_CHARS]).encode("ascii", "ignore").decode()
    text = text.lower().replace("\u2019", "'")
    for pattern, repl in CONTRACTIONS:
        text = re.sub(pattern, repl, text)
    text = text.replace("'", "")
    return " ".join(respell(w) for w in re.sub(r"[^a-z0-9]+", " ", text).split())


def detect(text: str) -> Risk | None:
    """The most urgent risk phrase in ``text``, or None. Never raises on any input."""
    if not isinstance(text, str) or not text.strip():
        return None
    norm = normalise(text)
    for kind in KINDS:
        m = _COMPILED[kind].search(norm)
        if m:
            return Risk(kind, m.group(0))
    return None
