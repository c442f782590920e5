"""Dialogue: what the virtual humans say, and how it sounds.

- ``bank``: a line bank ready for choosing (lines by role, band and intent).
- ``choose``: choosing a vetted line, as a reply to the patient or unprompted.
- ``embed``: sentence embeddings for choosing (MiniLM, or a lexical stand-in).
- ``voices``: :class:`~vr.dialogue.voices.Voice`, a distinct, seeded voice per human.
- ``tts``: :class:`~vr.dialogue.tts.Synthesizer`, a line's text to a cached WAV and a mouth envelope.
- ``speech_files``: :class:`~vr.dialogue.speech_files.Speech`, a line's WAV and envelope, read, written, cached.
- ``worker``: the process that chooses lines and makes their audio, and the app's side of it
  (restarts when hung or dead, generic authored lines meanwhile).

The patient's words are checked for risk in the session core (``vr.sim.risk``), not here, and
the core accepts only lines of its vetted bank (``vr.sim.talk``).

``voices`` and ``tts`` do not import Panda3D (a speech worker process uses them); playing
speech in 3D is ``vr.render.speech_audio``.
"""
