"""Dialogue: what the virtual humans say, and how it sounds.

- ``bank``: a line bank ready for choosing (lines by role, band and intent).
- ``choose``: choosing a vetted line, as a reply to the patient or unprompted.
- ``embed``: sentence embeddings for choosing (MiniLM, or a lexical stand-in).
- ``voices``: :class:`~vr.dialogue.voices.Voice`, a distinct, seeded voice per human.
- ``tts``: :class:`~vr.dialogue.tts.Synthesizer`, a line's text to a cached WAV and a mouth envelope.

``voices`` and ``tts`` do not import Panda3D (a speech worker process uses them); playing
speech in 3D is ``vr.render.speech_audio``.
"""
