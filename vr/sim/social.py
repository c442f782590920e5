"""Moods, gestures and speaking turns of the virtual humans (who speaks when; the words come later).

Moods are dealt out by share: each slot holds a fixed random rank, present humans are sorted by
it and the step's shares are laid over that order (largest remainder), so an audience keeps most
of its moods when the next step changes them only a little. Gestures start as Poisson events at
per-mood rates and last a set time. One human speaks at a time; the group starts lines at the
step's ``lines_per_min``, favouring nearer humans and, as dialogue intensity rises, hostile ones.
"""

from __future__ import annotations

import numpy as np

from vr.config import MOOD_NAMES
from vr.sim.types import Event

GESTURES = ("none", "nod", "lean_in", "look_at_phone", "slump", "cross_arms", "shake_head", "smile", "yawn")
GESTURE_S = np.array([0.0, 1.2, 6.0, 8.0, 10.0, 12.0, 1.5, 3.0, 2.5])
# Starts per minute, rows in MOOD_NAMES order, columns in GESTURES order.
GESTURE_RATE_PER_MIN = np.array([
    # none nod  lean phone slump arms shake smile yawn
    [0.0, 1.5, 0.3, 0.0, 0.0, 0.0, 0.0, 0.4, 0.0],   # attentive
    [0.0, 0.1, 0.0, 1.0, 0.5, 0.1, 0.0, 0.0, 0.3],   # bored
    [0.0, 0.0, 0.2, 0.1, 0.0, 0.8, 0.6, 0.0, 0.0],   # hostile
    [0.0, 2.0, 0.5, 0.0, 0.0, 0.0, 0.0, 1.5, 0.0],   # friendly
    [0.0, 0.3, 0.0, 0.2, 0.0, 0.1, 0.0, 0.0, 0.1],   # neutral
])
EYES_DOWN = (GESTURES.index("look_at_phone"), GESTURES.index("slump"))
SPEAK_WEIGHT = np.array([1.0, 0.3, 1.0, 1.2, 0.6])
HOSTILE = MOOD_NAMES.index("hostile")


def deal_moods(shares: tuple[tuple[str, float], ...], count: int) -> list[int]:
    """Mood codes for ``count`` humans in share order (largest remainder rounding)."""
    if count == 0:
        return []
    raw = np.array([s for _, s in shares]) * count
    n = np.floor(raw).astype(int)
    for k in np.argsort(-(raw - n), kind="stable")[: count - int(n.sum())]:
        n[k] += 1
    out: list[int] = []
    for (name, _), k in zip(shares, n):
        out.extend([MOOD_NAMES.index(name)] * int(k))
    return out


class Social:
    """Mood, gesture and speaking state of N slots."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.n = n
        self.rank = rng.permutation(n)
        self.mood = np.zeros(n, dtype=np.int8)
        self.gesture = np.zeros(n, dtype=np.int8)
        self.gesture_left = np.zeros(n)
        self.speaker = -1
        self.speak_left = 0.0

    def assign_moods(self, present: np.ndarray, shares: tuple[tuple[str, float], ...],
                     rng: np.random.Generator) -> None:
        idx = np.flatnonzero(present)
        order = idx[np.argsort(self.rank[idx], kind="stable")]
        self.mood[order] = deal_moods(shares, len(order))
        idle = idx[self.gesture[idx] == 0]
        self.gesture_left[idle] = self._idle_wait(idle, rng)

    def _idle_wait(self, slots: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Seconds until each slot's next gesture (Poisson starts at its mood's total rate)."""
        rate = GESTURE_RATE_PER_MIN[self.mood[slots]].sum(axis=1) / 60.0
        return rng.exponential(1.0, len(slots)) / np.maximum(rate, 1e-9)

    def clear(self, gone: list[int]) -> None:
        """Forget the gestures and speech of humans who left the scene."""
        self.gesture[gone] = 0
        self.gesture_left[gone] = 0.0
        if self.speaker in gone:
            self.speaker, self.speak_left = -1, 0.0

    def update(self, dt_s: float, t_s: float, present: np.ndarray, distance_m: np.ndarray, ids: tuple[str, ...],
               lines_per_min: float, dialogue_intensity: float, active: bool,
               rng: np.random.Generator) -> list[Event]:
        """Advance gestures and speaking turns. ``gesture_left`` counts down the running gesture,
        or the wait until the next one while a human is idle."""
        events: list[Event] = []
        if self.speaker >= 0:
            self.speak_left -= dt_s
            if self.speak_left <= 0.0 or not present[self.speaker] or not active:
                self.speaker = -1  # a paused or ended session silences everyone at once
        if not active:
            return events
        self.gesture_left -= dt_s
        due = np.flatnonzero(present & (self.gesture_left <= 0.0))
        if len(due):
            ending = due[self.gesture[due] != 0]
            starting = due[self.gesture[due] == 0]
            if len(ending):
                self.gesture[ending] = 0
                self.gesture_left[ending] = self._idle_wait(ending, rng)
            if len(starting):
                rates = GESTURE_RATE_PER_MIN[self.mood[starting]]
                cum = np.cumsum(rates, axis=1) / np.maximum(rates.sum(axis=1, keepdims=True), 1e-12)
                pick = (rng.random(len(starting))[:, None] > cum).sum(axis=1)
                self.gesture[starting] = pick
                self.gesture_left[starting] = GESTURE_S[pick]
                for h, g in zip(starting.tolist(), pick.tolist()):
                    events.append(Event(t_s, "gesture", {"human": ids[h], "gesture": GESTURES[g]}))
        if self.speaker < 0 and lines_per_min > 0.0 and rng.random() < -np.expm1(-lines_per_min / 60.0 * dt_s):
            idx = np.flatnonzero(present)
            if len(idx):
                w = SPEAK_WEIGHT[self.mood[idx]] / (0.5 + distance_m[idx])
                w = np.where(self.mood[idx] == HOSTILE, w * (0.5 + 1.5 * dialogue_intensity), w)
                pick = min(int(np.searchsorted(np.cumsum(w) / w.sum(), rng.random(), side="right")), len(idx) - 1)
                speaker = int(idx[pick])
                self.speaker = speaker
                self.speak_left = float(rng.uniform(1.8, 4.5))
                intent = "question" if rng.random() < 0.25 + 0.5 * dialogue_intensity else "remark"
                events.append(Event(t_s, "speech_turn", {
                    "human": ids[speaker], "dialogue_intensity": round(dialogue_intensity, 3), "intent": intent,
                    "mood": MOOD_NAMES[int(self.mood[speaker])], "duration_s": round(self.speak_left, 2)}))
        return events

    def silence(self, present: np.ndarray, neutral_mood: int) -> None:
        """Stop whoever speaks and calm every present human (after a risk alert)."""
        self.speaker, self.speak_left = -1, 0.0
        self.mood[present] = neutral_mood

    def speaking(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        if self.speaker >= 0:
            out[self.speaker] = True
        return out

    def eyes_down(self) -> np.ndarray:
        return (self.gesture == EYES_DOWN[0]) | (self.gesture == EYES_DOWN[1])
