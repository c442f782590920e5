"""Clip folders: what a patient says and when, as WAV files placed at session times.

A clip folder stands in for a microphone (``--mic FOLDER``): for trying a profile's dialogue
without a patient, for tests, and for the listening benchmark. It holds WAV files and one
``clips.yaml`` (or ``clips.json``, the same structure)::

    # times are session seconds (from the session's start); files are relative to this folder
    clips:
      - file: 001.wav
        start_s: 12.0
        text: I was really nervous before the talk.   # optional: what is said (to check recognition)
      - file: 002.wav
        start_s: 30.5

Each clip is heard from ``start_s`` for as long as it lasts; clips may overlap (they are mixed).
WAV files are PCM, any rate, mono or stereo (mixed to mono, resampled to 16 kHz). Unknown keys,
a missing file, a path leaving the folder or a negative time are errors that name the clip.

Also here: patient sentences for trying the listener, a maker of clip folders with espeak-ng,
and the word error rate used to check recognition.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

CLIP_KEYS = ("file", "start_s", "text")

# What a patient might say to an interviewer, an audience, or the clinician after a talk.
# Spelt as said (no digits), so a reference and a recogniser's text can be compared word for word.
PATIENT_SENTENCES = (
    "I was really nervous before the talk, but I think it went okay in the end.",
    "Sorry, could you repeat the question please?",
    "My hands were shaking the whole time I was speaking.",
    "I have worked in customer service for about five years.",
    "I think my biggest weakness is that I worry too much about details.",
    "Can I have a moment to think about that?",
    "I felt like everyone in the room was staring at me.",
    "Honestly, it was easier than I expected it to be.",
    "I would like to work here because I enjoy helping people.",
    "My heart was racing when they started asking questions.",
    "I forgot what I wanted to say in the middle of the second slide.",
    "Thank you for having me, I am glad to be here.",
    "I usually avoid parties because I never know what to say.",
    "The man in the front row looked bored and that made me anxious.",
    "I can manage a small team and keep a project on schedule.",
    "Could we take a short break before the next part?",
    "I kept thinking that they would notice my voice trembling.",
    "After a few minutes the fear started to go down a little.",
    "I am not sure how to answer that, but I will try.",
    "Next time I want to look at the audience more often.",
)

VOICES = ("en-us", "en-gb+f3")          # two espeak-ng voices: an American man, a British woman
SPEEDS_WPM = (130, 175, 220)


@dataclass(frozen=True)
class Clip:
    """One clip: its file, when it starts (session seconds), and what it says if known."""

    path: Path
    start_s: float
    text: str | None


class ClipFolderError(ValueError):
    """A clip folder a person must fix; the message names the file and the clip."""


def load_clip_folder(folder: Path) -> tuple[Clip, ...]:
    """The clips of ``folder`` in order of start time, from its ``clips.yaml`` or ``clips.json``."""
    folder = Path(folder)
    index = next((folder / n for n in ("clips.yaml", "clips.yml", "clips.json") if (folder / n).is_file()), None)
    if index is None:
        raise ClipFolderError(f"{folder}: no clips.yaml or clips.json; a clip folder lists its WAV files and "
                              "their start times (see docs/listening.md)")
    try:
        text = index.read_text(encoding="utf-8")
        data = json.loads(text) if index.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as e:
        raise ClipFolderError(f"{index}: cannot be read ({e})") from None
    if not isinstance(data, dict) or set(data) - {"clips"} or not isinstance(data.get("clips"), list):
        raise ClipFolderError(f"{index}: expected one key, 'clips', holding a list of "
                              "{file, start_s, text} entries")
    root = folder.resolve()
    clips = []
    for i, entry in enumerate(data["clips"]):
        where = f"{index}: clips[{i}]"
        if not isinstance(entry, dict):
            raise ClipFolderError(f"{where}: expected a mapping with file and start_s")
        unknown = sorted(set(entry) - set(CLIP_KEYS))
        if unknown:
            raise ClipFolderError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(CLIP_KEYS)})")
        name, start = entry.get("file"), entry.get("start_s")
        if not isinstance(name, str) or not name:
            raise ClipFolderError(f"{where}.file: give the WAV file's name, relative to the folder")
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not 0 <= start < 1e6:
            raise ClipFolderError(f"{where}.start_s: give the start in session seconds, a number from 0 "
                                  f"(got {start!r})")
        path = (folder / name).resolve()
        if root not in path.parents:
            raise ClipFolderError(f"{where}.file: {name!r} is outside the folder; keep clips inside it")
        if not path.is_file():
            raise ClipFolderError(f"{where}.file: {name!r} does not exist in {folder}")
        said = entry.get("text")
        if said is not None and not isinstance(said, str):
            raise ClipFolderError(f"{where}.text: give what is said as text, or leave it out")
        clips.append(Clip(path, float(start), said))
    return tuple(sorted(clips, key=lambda c: c.start_s))


def write_clip_index(folder: Path, clips: list[Clip]) -> Path:
    """Write ``folder/clips.yaml`` for ``clips`` (files inside ``folder``)."""
    entries = []
    for c in clips:
        entry = {"file": c.path.name, "start_s": round(float(c.start_s), 3)}
        if c.text is not None:
            entry["text"] = c.text
        entries.append(entry)
    path = Path(folder) / "clips.yaml"
    path.write_text("# times are session seconds; files are relative to this folder\n"
                    + yaml.safe_dump({"clips": entries}, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def espeak_clip(text: str, out: Path, *, voice: str = "en-us", speed_wpm: int = 175) -> float:
    """Say ``text`` with espeak-ng into the WAV file ``out``; returns its length in seconds.

    Raises ``RuntimeError`` when espeak-ng is missing or fails.
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not on PATH; install it (Debian/Ubuntu: 'sudo apt install espeak-ng')")
    done = subprocess.run([exe, "-v", voice, "-s", str(int(speed_wpm)), "-w", str(out), "--stdin"],
                          input=text.encode("utf-8"), capture_output=True, timeout=60, check=False)
    if done.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:
        raise RuntimeError(f"espeak-ng failed for {text[:40]!r} (exit {done.returncode}): "
                           f"{done.stderr.decode('utf-8', 'replace').strip()}")
    from vr.dialogue.audio_in import read_wav

    x, rate = read_wav(out)
    return len(x) / rate


def make_clip_folder(folder: Path, said: list[tuple[str, str, int]], *, first_s: float = 1.0,
                     gap_s: float = 2.5) -> tuple[Clip, ...]:
    """A clip folder of ``said`` (text, espeak-ng voice, words per minute), one after another.

    The first clip starts at ``first_s``; each next one ``gap_s`` after the previous one ends.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clips, t = [], float(first_s)
    for i, (text, voice, speed) in enumerate(said):
        path = folder / f"{i:03d}.wav"
        length_s = espeak_clip(text, path, voice=voice, speed_wpm=speed)
        clips.append(Clip(path, round(t, 3), text))
        t = round(t, 3) + length_s + gap_s
    write_clip_index(folder, clips)
    return tuple(clips)


_CONTRACTIONS = {
    "i'm": "i am", "i've": "i have", "i'll": "i will", "i'd": "i would", "it's": "it is", "that's": "that is",
    "don't": "do not", "didn't": "did not", "can't": "can not", "cannot": "can not", "won't": "will not",
    "isn't": "is not", "wasn't": "was not", "you're": "you are", "they're": "they are", "we're": "we are",
    "let's": "let us", "there's": "there is", "what's": "what is", "couldn't": "could not",
    "wouldn't": "would not", "ok": "okay",
}


def words_of(text: str) -> list[str]:
    """``text`` as words for scoring: lower case, no punctuation, contractions spelt out, 'ok' as 'okay'."""
    text = text.lower().replace("\u2019", "'").replace("-", " ")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    words = []
    for w in text.split():
        w = w.strip("'")
        if w:
            words.extend(_CONTRACTIONS.get(w, w).split())
    return words


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Fewest word substitutions, insertions and deletions turning ``ref`` into ``hyp`` (Levenshtein)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def word_error_rate(refs: list[str], hyps: list[str]) -> float:
    """Word errors over reference words, summed over the pairs (0 is perfect; may exceed 1)."""
    errors = words = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        r = words_of(ref)
        errors += edit_distance(r, words_of(hyp))
        words += len(r)
    return errors / max(words, 1)
