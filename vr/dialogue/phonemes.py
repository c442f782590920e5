"""A line's text as a neural voice's phoneme ids, read from the espeak-ng program.

Piper-style voices (VITS models exported to ONNX) were trained on espeak-ng's IPA, one symbol
per Unicode code point, with the clause's punctuation kept as a symbol of its own (it is what
tells the model to pause and how to end the phrase). Here the text is cut into clauses at
punctuation that is followed by a space or the end (so ``3.50`` and ``e.g.`` stay whole), each
clause is phonemised by running ``espeak-ng -q --ipa -v en-us`` as a separate program (the text
on stdin, so it is never read as an option), and the clause's punctuation is put back after its
phonemes. Clauses are grouped into sentences (ending at ``.``, ``!`` or ``?``); a sentence is one
run of the model, so the first can play while later ones are made.

A sentence's ids follow the voice's config JSON: beginning ``^``, then each symbol followed by the
pad ``_``, then the end ``$``. Symbols the voice does not know (rare letters of other scripts)
are left out.

This module runs programs but imports nothing beyond the standard library and numpy.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ESPEAK_TIMEOUT_S = 10.0
SENTENCE_END = ".!?"
_CLAUSE = re.compile(r"\S.*?(?:[.,;:!?…]+[\"'”’»)\]]*(?=\s|$)|$)", re.S)
_TRAILING = re.compile(r"([.,;:!?…]+)[\"'”’»)\]]*$")
_LANG_SWITCH = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)*\)")  # espeak-ng marks words it reads in another language
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "mt", "prof", "sr", "jr", "vs", "etc", "e.g", "i.e",
                            "no", "approx"})


@dataclass(frozen=True)
class Clause:
    """A piece of a line up to its punctuation: ``text`` to phonemise, ``stop`` the symbol after it."""

    text: str
    stop: str  # one of , . ! ? ; : or '' for none


def clauses(text: str) -> list[Clause]:
    """``text`` cut into clauses at punctuation followed by a space or the end of the text.

    Runs of punctuation become one stop (``?!`` reads as ``?``, ``...`` and ``…`` as ``.``); a
    period after a common abbreviation (``Dr.``, ``e.g.``) does not end the clause.
    """
    pieces = [m.group(0).strip() for m in _CLAUSE.finditer(text)]
    out: list[Clause] = []
    carry = ""
    for piece in pieces:
        piece = (carry + " " + piece).strip() if carry else piece
        carry = ""
        found = _TRAILING.search(piece)
        if not found:
            out.append(Clause(piece, ""))
            continue
        run = found.group(1)
        words = piece.split()
        last = words[-1].lower().strip("\"'“”‘’«»([").rstrip(".") if words else ""
        if run == "." and last in _ABBREVIATIONS:
            carry = piece
            continue
        stop = "?" if "?" in run else "!" if "!" in run else run[0] if run[0] in ",;:" else "."
        out.append(Clause(piece[: found.start()].strip(), stop))
    if carry:
        out.append(Clause(carry, "."))
    return [c for c in out if c.text or (c.stop and c.stop in SENTENCE_END)]


def espeak_ipa(text: str, espeak: str = "espeak-ng", voice: str = "en-us") -> str:
    """The IPA espeak-ng gives for ``text`` (stress marks kept), on one line.

    Raises ``RuntimeError`` naming the command when espeak-ng cannot run or fails.
    """
    cmd = [espeak, "-q", "--ipa", "-v", voice, "--stdin"]
    shown = shlex.join(cmd) + " < text"
    try:
        done = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=ESPEAK_TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"espeak-ng took over {ESPEAK_TIMEOUT_S:.0f} s to read phonemes: {shown}") from None
    except OSError as e:
        raise RuntimeError(f"cannot run espeak-ng for phonemes ({e}): {shown}; reinstall espeak-ng") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip() or "no message"
        raise RuntimeError(f"espeak-ng failed to read phonemes (exit {done.returncode}): {shown}: {message}")
    ipa = _LANG_SWITCH.sub("", done.stdout.decode("utf-8", "replace"))
    return " ".join(ipa.split())


def sentence_phonemes(text: str, espeak: str = "espeak-ng", voice: str = "en-us") -> list[str]:
    """Each sentence of ``text`` as IPA with its punctuation: ``["hˈaɪ ðˈɛɹ.", "aɪm fˈaɪn, θˈæŋks."]``.

    Sentences that give no phonemes at all (only symbols espeak-ng does not read) are dropped.
    A line that ends without punctuation ends as if with a period.
    """
    sentences: list[str] = []
    current: list[str] = []
    for clause in clauses(text):
        ipa = espeak_ipa(clause.text, espeak, voice) if clause.text else ""
        if ipa:
            current.append(ipa + (clause.stop or ""))
        elif clause.stop and current and current[-1][-1:] not in ",;:.!?":
            current[-1] += clause.stop
        if clause.stop and clause.stop in SENTENCE_END and current:
            sentences.append(" ".join(current))
            current = []
    if current:
        last = " ".join(current)
        sentences.append(last if last[-1] in ".!?" else last.rstrip(",;:") + ".")
    return sentences


def phoneme_ids(phonemes: str, id_map: Mapping[str, Sequence[int]]) -> tuple[list[int], list[str]]:
    """``phonemes`` as the model's input ids, and the symbols left out because the voice lacks them.

    ``id_map`` is the voice config's ``phoneme_id_map`` (symbol -> ids). The ids are ``^``, the
    pad ``_`` after every symbol, and ``$`` at the end, as the voice was trained.
    """
    pad, bos, eos = list(id_map["_"]), list(id_map["^"]), list(id_map["$"])
    ids = bos + pad
    missing: list[str] = []
    for symbol in unicodedata.normalize("NFD", phonemes):
        found = id_map.get(symbol)
        if found is None:
            missing.append(symbol)
            continue
        ids.extend(found)
        ids.extend(pad)
    ids.extend(eos)
    return ids, missing
