"""The patient's microphone in a rendered session: recognised turns become the session's inputs.

A :class:`Hearing` wraps one :class:`vr.dialogue.listen.Listener` for the frame loop. Once a frame,
before the step (``vr-inputs``), :meth:`Hearing.take` lets a clip source reach the session's time,
collects what the recogniser has finished, and returns

- the words, as ``PatientWords`` with source ``microphone`` (the same path typed words take: the
  risk screen reads them first, then a human may answer);
- whether the patient is speaking now (``FrameInputs.patient_speaking``: a human who is talking
  finishes the phrase and yields the turn);
- one ``speech_heard`` event per turn for the record (times, confidence, latency; the app's own,
  not the session's, so replay ignores it), and messages for the clinician (a recogniser that
  failed, hung or restarted; audio lost), which the loop records as ``listening`` alerts.

Nothing here waits: recognition runs in its own process (``vr.dialogue.asr``).

Audio is written only when :class:`HearingOptions` names a folder to keep it in (``vr run
--keep-audio``: the record's ``audio/`` folder, 0700, files 0600); the record's ``session.json``
says which (:meth:`Hearing.describe`).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vr.sim import Event, PatientWords

SOURCE = "microphone"   # PatientWords.source of recognised words

# The synthetic patient's turns in the headless demo: what someone might say to a questioning
# audience after a talk, at session seconds of the tour's last step (which starts at 95 s).
DEMO_TURNS = (
    (97.0, "Thank you all for listening. I am happy to take a few questions now."),
    (109.0, "I was quite nervous at the start, but I think the main points came across."),
    (121.0, "Could you say a little more about what you mean by that?"),
)


@dataclass(frozen=True)
class HearingOptions:
    """How a session listens. ``mic``: a device index or name, ``default``, a WAV file or a clip
    folder (``vr.dialogue.audio_in.open_source``). ``keep_audio``: a folder for each turn's WAV,
    or None (nothing is written). ``test_hooks``: let tests crash or stall the recogniser."""

    mic: str
    keep_audio: Path | None = None
    model: str = "tiny.en"
    timeout_s: float | None = None
    test_hooks: bool = False


class Hearing:
    """One session's listening; see the module's docstring."""

    def __init__(self, options: HearingOptions) -> None:
        """Opens the source and starts the recogniser (its model loads in its own process).

        Raises ``vr.dialogue.audio_in.MicrophoneError``, ``FileNotFoundError`` or
        ``vr.dialogue.clips.ClipFolderError`` with a message that names the source."""
        from vr.dialogue.audio_in import open_source
        from vr.dialogue.listen import Listener

        self.options = options
        source = open_source(options.mic)
        kwargs = {} if options.timeout_s is None else {"timeout_s": options.timeout_s}
        try:
            self.listener = Listener(source, keep_audio=options.keep_audio, model=options.model,
                                     test_hooks=options.test_hooks, **kwargs)
        except BaseException:
            source.close()
            raise
        self.kind = "file" if not source.live else "microphone"
        # The record keeps names, not paths: a file microphone is named by its file or folder only.
        self.device = source.describe() if source.live else f"{Path(options.mic).name} (file microphone)"
        self.turns_heard = 0
        self.speaking = False
        self._closed = False

    def describe(self) -> dict:
        """What ``session.json`` says about listening: the source, the model, whether audio is kept."""
        keep = self.options.keep_audio
        return {"source": self.kind, "device": self.device, "model": self.options.model,
                "keep_audio": keep.name + "/" if keep is not None else False}

    def take(self, t_s: float) -> tuple[tuple[PatientWords, ...], bool, list[Event], list[str]]:
        """This frame's words, whether the patient speaks now, the record's events, the clinician's messages."""
        if self._closed:
            return (), False, [], []
        listener = self.listener
        listener.advance_to(t_s)
        heard, alerts = listener.poll()
        self.speaking = listener.speaking()
        words = tuple(PatientWords(h.text, SOURCE) for h in heard)
        events = [Event(t_s, "speech_heard", {
            "turn": h.turn + 1, "text": h.text, "started_s": h.started_s, "ended_s": h.ended_s,
            "confidence": h.confidence, "no_speech_prob": h.no_speech_prob, "latency_ms": h.latency_ms,
            "wait_ms": h.wait_ms, "recognise_ms": h.recognise_ms, "model_ms": h.model_ms, "cut": h.cut,
            "early": h.early})
            for h in heard]
        self.turns_heard += len(heard)
        return words, self.speaking, events, alerts

    def status(self) -> dict:
        """For the console: ready, speaking now, turns, and why recognition is off (if it is)."""
        s = self.listener.status
        return {"source": self.kind, "device": self.device, "ready": s.ready, "speaking": self.speaking,
                "turns": s.turns, "heard": s.heard, "discarded": s.discarded, "lost": s.lost,
                "restarts": s.restarts, "failed": s.failed, "keep_audio": self.options.keep_audio is not None}

    def close(self) -> dict:
        """Stop listening (kept audio is written out first); returns the final figures for the record."""
        if self._closed:
            return {}
        self._closed = True
        try:
            s = self.listener.status
            status = {"turns": s.turns, "heard": s.heard, "not_speech": s.discarded, "lost": s.lost,
                      "restarts": s.restarts, "dropped_audio_s": round(s.dropped_audio_s, 3),
                      "model_load_s": s.load_s, "failed": s.failed}
        finally:
            self.listener.close()
        return status


def demo_patient_clips(turns=DEMO_TURNS) -> Path:
    """A clip folder of the demo's synthetic patient, said by espeak-ng (``demo-patient`` in a
    temporary folder: remove its parent when done).

    Raises ``RuntimeError`` when espeak-ng is missing."""
    from vr.dialogue.clips import Clip, espeak_clip, write_clip_index

    scratch = Path(tempfile.mkdtemp(prefix="vr-demo-"))
    folder = scratch / "demo-patient"   # the name the record gives the source
    try:
        folder.mkdir()
        clips = []
        for i, (start_s, text) in enumerate(turns):
            path = folder / f"{i:03d}.wav"
            espeak_clip(text, path, voice="en-us", speed_wpm=165)
            clips.append(Clip(path, start_s, text))
        write_clip_index(folder, clips)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return folder
