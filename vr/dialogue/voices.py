"""Voices for the virtual humans: an espeak-ng voice, a pitch and a speaking rate.

A human's voice is chosen from its seed, so the same person always sounds the same and a crowd
sounds like several people: different English accents, male and female variants, pitches and
rates. The guide (the calm companion who talks the patient through an exposure) gets a slower,
lower, steadier voice from :meth:`Voice.calm`.

Names are espeak-ng's ``language+variant`` (``en-gb-scotland+f2``); every accent and variant
used here ships with espeak-ng 1.51 (``espeak-ng --voices=en``, ``espeak-ng --voices=variant``).
Other engines read what they can: the system voices (pyttsx3) the gender and the rate; the neural
voice (:mod:`vr.dialogue.neural_voice`) the pitch, the rate and the name (to vary the delivery),
and only for an English accent with a male variant or none (:attr:`Voice.accent`,
:attr:`Voice.gender`).

This module does not import Panda3D: the speech worker process uses it.
"""

from __future__ import annotations

import operator
import random
import re
from dataclasses import dataclass

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
           "en-us-nyc")
CALM_ACCENTS = ("en-us", "en-gb", "en-gb-x-rp")
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
PITCH_RANGE = (30, 70)  # espeak-ng -p, 0-99 (50 is the voice's own)
RATE_RANGE_WPM = (145, 185)
CALM_PITCH_RANGE = (35, 48)
CALM_RATE_RANGE_WPM = (135, 150)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")  # never starts with '-', so never read as an option
_GENDERS = {"male": "male", "m": "male", "female": "female", "f": "female"}


@dataclass(frozen=True)
class Voice:
    """One speaker's voice.

    ``name``: espeak-ng voice and variant, e.g. ``"en-us+m3"``; ``pitch``: espeak-ng ``-p``,
    0-99; ``rate_wpm``: speaking rate in words per minute (espeak-ng ``-s``, 80-450).
    """

    name: str
    pitch: int = 50
    rate_wpm: int = 165

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"voice name {self.name!r} is not an espeak-ng voice name; write it as "
                             "'language+variant', e.g. 'en-us+m3' (see `espeak-ng --voices=en`)")
        if not 0 <= int(self.pitch) <= 99:
            raise ValueError(f"voice pitch {self.pitch} is outside 0-99; 50 is the voice's own pitch")
        if not 80 <= int(self.rate_wpm) <= 450:
            raise ValueError(f"voice rate {self.rate_wpm} wpm is outside 80-450; conversation is about 150-180")

    def key(self) -> str:
        """Stable text naming this voice, for cache keys: ``"en-us+m3|p50|s165"``."""
        return f"{self.name}|p{int(self.pitch)}|s{int(self.rate_wpm)}"

    @property
    def accent(self) -> str:
        """The espeak-ng language and accent before the variant: ``"en-gb-scotland"`` for
        ``"en-gb-scotland+f2"``."""
        return self.name.partition("+")[0]

    @property
    def english(self) -> bool:
        """Whether the accent is an English one (``en``, ``en-us``, ``en-029`` ...)."""
        return self.accent == "en" or self.accent.startswith("en-")

    @property
    def gender(self) -> str | None:
        """'male' or 'female' from the variant (``+m3``, ``+f2``), or None when the name has none."""
        _, _, variant = self.name.partition("+")
        if variant[:1] in ("m", "f") and variant[1:].isdigit():
            return "male" if variant[0] == "m" else "female"
        return None

    @staticmethod
    def from_seed(seed: int, gender: str | None = None) -> Voice:
        """A varied voice for a human with ``seed``; the same seed always gives the same voice.

        ``gender``: 'male', 'female' (or 'm', 'f'), or None to let the seed choose. Accents come
        from :data:`ACCENTS`, pitch from 30-70, rate from 145-185 wpm.
        """
        return _drawn(random.Random(_seed_int(seed, "voice")), gender, ACCENTS, PITCH_RANGE, RATE_RANGE_WPM)

    @staticmethod
    def calm(seed: int, gender: str | None = None) -> Voice:
        """A calm voice for the guide or companion: 135-150 wpm, a lower and narrower pitch (35-48)."""
        return _drawn(random.Random(_seed_int(seed, "calm")), gender, CALM_ACCENTS, CALM_PITCH_RANGE,
                      CALM_RATE_RANGE_WPM)


def _seed_int(seed: int, purpose: str) -> int:
    """An integer seed for ``random.Random`` (stable across Python versions for int seeds)."""
    try:
        value = operator.index(seed)
    except TypeError:
        raise TypeError(f"voice seed must be an integer, not {type(seed).__name__}") from None
    return value * 2 + (1 if purpose == "calm" else 0)


def _drawn(rng: random.Random, gender: str | None, accents, pitches: tuple[int, int],
           rates_wpm: tuple[int, int]) -> Voice:
    """A voice drawn from ``rng``, in this order: the gender's variants, accent, variant, pitch, rate."""
    variants = _variants(gender, rng)
    accent = rng.choice(accents)
    variant = rng.choice(variants)
    return Voice(f"{accent}+{variant}", rng.randint(*pitches), rng.randint(*rates_wpm))


def _variants(gender: str | None, rng: random.Random) -> tuple[str, ...]:
    if gender is None:
        return MALE_VARIANTS if rng.random() < 0.5 else FEMALE_VARIANTS
    chosen = _GENDERS.get(str(gender).lower())
    if chosen is None:
        raise ValueError(f"voice gender {gender!r} is not known; use 'male', 'female' or None")
    return MALE_VARIANTS if chosen == "male" else FEMALE_VARIANTS
