"""Talk in the session core: the patient's words, risk, and which spoken lines are accepted.

The core never chooses words (that is the dialogue worker's job, off the frame) but it decides
everything safety depends on, in the step, with no waiting:

- every patient utterance is checked by ``vr.sim.risk``: by phrases in the step itself and, in a
  session with dialogue, by meaning: the core asks the dialogue worker for the words' scores
  (``risk_screen_wanted``), and decides on the ``ScreenScore`` that comes back as an input. A
  risk either way raises a critical alert and turns the humans neutral and quiet (no new lines,
  the current speaker stops) until the clinician sends ``resume_dialogue``. A meaning check that
  has not answered within ``SCREEN_WAIT_S`` of session time warns the clinician to read the
  words themselves; a late answer still alerts;
- otherwise the utterance asks for a reply (``reply_wanted``) from the human who last spoke, or
  the nearest one;
- a line from the worker is said only if its id is in the session's vetted bank with exactly
  that text, the speaker is present, the session is running and not quiet. Anything else is
  logged and dropped.

Recognised words can be wrong: the clinician may withhold the humans' reply to a turn
(``withhold_reply`` with the turn's ``said`` number: its line is dropped, or cut short if already
spoken) or correct it (``PatientWords.corrects``: the old turn's reply is withheld and the new
words are answered). The risk screen always reads the words as heard, first. When the patient
starts speaking while a human talks (``FrameInputs.patient_speaking``), the human finishes the
phrase within ``YIELD_S`` and nobody starts a new line until the patient stops.

The clinician may also have a human say one chosen line (``say_line``): the core checks it is
vetted, no harsher than the band of the profile's intensity cap, that the humans are not quiet
and that someone is there to say it, then asks for it (``line_wanted``) like any other line.

Requests (``speech_turn``, ``reply_wanted`` and ``line_wanted``) are numbered so a line can name
what it answers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vr.config import MOOD_NAMES
from vr.config.lines import BANDS, band_for
from vr.sim.risk import ScreenScore, detect, semantic_alert
from vr.sim.types import Command, Event, PatientWords, SpokenLine

NEUTRAL = MOOD_NAMES.index("neutral")
MAX_LINE_S = 15.0
MAX_WORDS_LOGGED = 2000
YIELD_S = 0.6             # a human interrupted by the patient finishes the phrase within this
SCREEN_WAIT_S = 3.0       # a meaning check unanswered this long (session time) warns the clinician
MAX_PENDING_SCREENS = 64  # words still waiting for their meaning check, at most (the oldest go first)


class Talk:
    """Dialogue bookkeeping for one session."""

    def __init__(self, vetted: Mapping[str, str] | None, bands: Mapping[str, str] | None = None) -> None:
        """``vetted``: line id -> exact text; ``bands``: line id -> band (for lines the clinician picks)."""
        self.vetted = dict(vetted or {})
        self.bands = dict(bands or {})
        self.quiet = False
        self.requests = 0
        self.last_speaker = -1
        self.screens = 0
        self.said = 0                              # the patient's turns, numbered from 1
        self.reply_to: dict[int, int] = {}         # said -> the request of the reply it asked for
        self.withheld: set[int] = set()            # requests whose lines the clinician withheld
        self.speaking_request = 0                  # the request of the line being spoken now
        self.yielded = False                       # the current line has already been cut short
        self.pending: dict[int, tuple[float, str, bool]] = {}   # screen -> (asked at, words, warned)

    def number_turns(self, events: list[Event]) -> list[Event]:
        """Give the core's own ``speech_turn`` events a request number and their band."""
        out = []
        for e in events:
            if e.kind == "speech_turn":
                self.requests += 1
                data = {**e.data, "request": self.requests, "band": band_for(e.data["dialogue_intensity"])}
                out.append(Event(e.t_s, e.kind, data))
            else:
                out.append(e)
        return out

    def heard(self, said: tuple[PatientWords, ...], t_s: float, ids: tuple[str, ...], present: np.ndarray,
              distance_m: np.ndarray, dialogue_intensity: float, running: bool, social) -> list[Event]:
        """The patient's words this step: risk first, then (when all is well) a reply wanted."""
        events: list[Event] = []
        for words in said:
            text = words.text if isinstance(words.text, str) else ""
            risk = detect(text)
            by_meaning = risk is None and bool(self.vetted) and bool(text.strip())
            self.said += 1
            heard = {"said": self.said, "text": text[:MAX_WORDS_LOGGED], "source": words.source,
                     "risk": risk.category if risk else None, "screen": "phrases+meaning" if by_meaning else "phrases"}
            if words.corrects:
                heard["corrects"] = int(words.corrects)
            events.append(Event(t_s, "patient_said", heard))
            if words.corrects:
                events += self.withhold(int(words.corrects), t_s, social, "corrected")
            if risk is not None:
                events += self._risk(t_s, risk.category, f"the patient said \"{risk.phrase}\"", "phrase",
                                     present, social)
                continue
            if by_meaning:
                self.screens += 1
                self.pending[self.screens] = (t_s, text[:MAX_WORDS_LOGGED], False)
                while len(self.pending) > MAX_PENDING_SCREENS:
                    self.pending.pop(next(iter(self.pending)))
                events.append(Event(t_s, "risk_screen_wanted", {"screen": self.screens,
                                                                "text": text[:MAX_WORDS_LOGGED]}))
            if self.quiet or not running or not text.strip():
                continue
            speaker = self._addressee(present, distance_m, social)
            if speaker < 0:
                continue
            self.requests += 1
            self.reply_to[self.said] = self.requests
            events.append(Event(t_s, "reply_wanted", {"request": self.requests, "said": self.said, "human": ids[speaker],
                                                      "text": text[:MAX_WORDS_LOGGED],
                                                      "band": band_for(dialogue_intensity),
                                                      "dialogue_intensity": round(dialogue_intensity, 3)}))
        return events

    def _risk(self, t_s: float, kind: str, what: str, method: str, present: np.ndarray, social) -> list[Event]:
        """A critical alert for the clinician; the humans fall quiet and neutral (once)."""
        events = [Event(t_s, "alert", {
            "level": "critical", "reason": "risk", "category": kind, "method": method,
            "message": f"RISK ({kind.replace('_', ' ')}): {what}. The humans are quiet and neutral; check in with "
                       "the patient. Send resume_dialogue to let them talk again."})]
        if not self.quiet:
            self.quiet = True
            social.silence(present, NEUTRAL)
            events.append(Event(t_s, "dialogue_quiet", {"reason": kind}))
        return events

    def screened(self, scores: tuple[ScreenScore, ...], t_s: float, present: np.ndarray, social) -> list[Event]:
        """The meaning checks that came back (each decided here), and a warning for any overdue one."""
        events: list[Event] = []
        for score in scores:
            asked = self.pending.pop(score.screen, None)
            if asked is None:
                continue   # not asked for, or already answered: the input is in the record all the same
            alert = semantic_alert(score.similarity, score.safe_similarity)
            events.append(Event(t_s, "risk_screened", {
                "screen": score.screen, "category": score.kind, "similarity": round(float(score.similarity), 4),
                "safe_similarity": round(float(score.safe_similarity), 4), "exemplar": score.exemplar[:200],
                "segment": score.segment[:200], "model": score.model, "alert": alert,
                "waited_s": round(t_s - asked[0], 3)}))
            if alert:
                what = (f"the patient said \"{asked[1][:300]}\", which reads like \"{score.exemplar[:200]}\" "
                        f"(similarity {score.similarity:.2f})")
                events += self._risk(t_s, score.kind, what, "meaning", present, social)
        for screen, (asked_at, text, warned) in list(self.pending.items()):
            if not warned and t_s - asked_at > SCREEN_WAIT_S:
                self.pending[screen] = (asked_at, text, True)
                events.append(Event(t_s, "alert", {
                    "level": "warning", "reason": "risk_screen", "screen": screen,
                    "message": f"The meaning check of the patient's words has not answered in {SCREEN_WAIT_S:.0f} s "
                               f"(the dialogue worker may be restarting); only the phrase check ran. Read them "
                               f"yourself: \"{text[:300]}\""}))
        return events

    def _addressee(self, present: np.ndarray, distance_m: np.ndarray, social) -> int:
        for candidate in (social.speaker, self.last_speaker):
            if 0 <= candidate < len(present) and present[candidate]:
                return int(candidate)
        idx = np.flatnonzero(present)
        return int(idx[np.argmin(distance_m[idx])]) if len(idx) else -1

    def lines(self, lines: tuple[SpokenLine, ...], t_s: float, ids: tuple[str, ...], present: np.ndarray,
              running: bool, social) -> list[Event]:
        """Accept vetted lines from the dialogue worker; refuse or drop everything else."""
        events: list[Event] = []
        for line in lines:
            if self.vetted.get(line.line_id) != line.text:
                events.append(Event(t_s, "line_refused", {"line_id": str(line.line_id)[:80],
                                                          "reason": "not a vetted line of this session's bank"}))
                events.append(Event(t_s, "alert", {"level": "warning", "reason": "dialogue",
                                                   "message": "a line that is not in the vetted bank was refused"}))
                continue
            who = ids.index(line.speaker) if line.speaker in ids else -1
            why = ("the speaker has left" if who < 0 or not present[who] else
                   "the humans are quiet after a risk alert" if self.quiet else
                   "the clinician withheld the reply" if line.request in self.withheld else
                   "the session is not running" if not running else "")
            if why:
                events.append(Event(t_s, "line_dropped", {"line_id": line.line_id, "request": line.request,
                                                          "reason": why}))
                continue
            duration = float(min(max(line.duration_s, 0.3), MAX_LINE_S))
            social.speaker, social.speak_left = who, duration
            self.last_speaker = who
            self.speaking_request, self.yielded = line.request, False
            events.append(Event(t_s, "utterance", {
                "speaker": line.speaker, "line_id": line.line_id, "text": line.text, "band": line.band,
                "request": line.request, "duration_s": round(duration, 3), "method": line.method,
                "similarity": None if line.similarity is None else round(float(line.similarity), 4)}))
        return events

    def clinician_line(self, cmd: Command, t_s: float, ids: tuple[str, ...], present: np.ndarray,
                       distance_m: np.ndarray, cap_band: str, social) -> tuple[list[Event], str | None]:
        """``say_line``: a chosen vetted line for a chosen (or the nearest) human; events or a refusal."""
        line_id = cmd.text
        if not self.vetted:
            return [], "this session has no dialogue"
        if line_id not in self.vetted:
            return [], f"{line_id[:80]!r} is not a line of this session's vetted bank"
        band = self.bands.get(line_id)
        if band not in BANDS:
            return [], "the line's band is unknown to this session"
        if BANDS.index(band) > BANDS.index(cap_band):
            return [], f"the line is {band}, harsher than the profile's intensity cap allows ({cap_band})"
        who, refusal = self._chosen(cmd, present, distance_m)
        if refusal:
            return [], refusal
        self.requests += 1
        return [Event(t_s, "line_wanted", {"request": self.requests, "human": ids[who], "line_id": line_id,
                                           "band": band})], None

    def clinician_turn(self, cmd: Command, t_s: float, ids: tuple[str, ...], present: np.ndarray,
                       distance_m: np.ndarray, dialogue_intensity: float, social) -> tuple[list[Event], str | None]:
        """``speak``: a chosen (or the nearest) human starts a line of their own at the step's band."""
        if not self.vetted:
            return [], "this session has no dialogue"
        who, refusal = self._chosen(cmd, present, distance_m)
        if refusal:
            return [], refusal
        self.requests += 1
        return [Event(t_s, "speech_turn", {
            "human": ids[who], "dialogue_intensity": round(dialogue_intensity, 3), "intent": "remark",
            "mood": MOOD_NAMES[int(social.mood[who])], "request": self.requests, "band": band_for(dialogue_intensity),
            "by": "clinician"})], None

    def _chosen(self, cmd: Command, present: np.ndarray, distance_m: np.ndarray) -> tuple[int, str | None]:
        """The human a clinician's ``say_line`` or ``speak`` names (``value``), or the nearest."""
        if self.quiet:
            return -1, "the humans are quiet after a risk alert; send resume_dialogue first"
        if cmd.value is not None:
            who = int(cmd.value) if float(cmd.value).is_integer() else -1
            if not 0 <= who < len(present) or not present[who]:
                return -1, "that human is not in the scene"
            return who, None
        idx = np.flatnonzero(present)
        if not len(idx):
            return -1, "nobody is in the scene to say it"
        return int(idx[np.argmin(distance_m[idx])]), None

    def withhold(self, said: int, t_s: float, social, why: str = "withheld") -> list[Event]:
        """No reply to the patient's turn ``said``: its line is dropped when it comes, cut short if spoken."""
        request = self.reply_to.get(said)
        if request is None or request in self.withheld:
            return []
        self.withheld.add(request)
        events = [Event(t_s, "reply_withheld", {"said": said, "request": request, "why": why})]
        if social.speaker >= 0 and self.speaking_request == request:
            social.speaker, social.speak_left = -1, 0.0
            events.append(Event(t_s, "line_stopped", {"request": request, "reason": why}))
        return events

    def clinician_withhold(self, cmd: Command, t_s: float, social) -> tuple[list[Event], str | None]:
        """``withhold_reply``: ``value`` is the ``said`` number of the patient's turn."""
        said = int(cmd.value) if cmd.value is not None and float(cmd.value).is_integer() else 0
        if said not in self.reply_to:
            return [], "no reply was asked for that turn of the patient's (give its 'said' number)"
        if self.reply_to[said] in self.withheld:
            return [], "that reply is already withheld"
        return self.withhold(said, t_s, social), None

    def yield_turn(self, patient_speaking: bool, t_s: float, ids: tuple[str, ...], social) -> list[Event]:
        """The patient speaks over a human: the human finishes the phrase within ``YIELD_S``, once a line."""
        if not patient_speaking or social.speaker < 0 or self.yielded:
            return []
        self.yielded = True
        if social.speak_left <= YIELD_S:
            return []
        social.speak_left = YIELD_S
        return [Event(t_s, "turn_yielded", {"human": ids[social.speaker], "request": self.speaking_request,
                                            "within_s": YIELD_S})]

    def resume(self, t_s: float) -> list[Event]:
        if not self.quiet:
            return []
        self.quiet = False
        return [Event(t_s, "dialogue_resumed", {})]
