"""Text from a file, made safe to show: control characters never reach a terminal raw.

A profile, scene or line bank is written by a person but may come from anywhere. Its names and
lines are printed (summaries, errors that quote the file) and drawn; an escape sequence in
them (``\\x1b[2J`` clears a terminal, others retitle the window or move the cursor) or a
bidirectional override (``\\u202e`` shows text reversed) must not act on the screen. The
validator refuses them in files (``control_character``), and everything that prints text taken
from a file or a record passes it through ``printable`` as well.
"""

from __future__ import annotations

import unicodedata

# Invisible characters that reorder or hide what is shown (the "Trojan source" set) and the
# Unicode line and paragraph separators, which break a line as a newline does.
_INVISIBLE = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every character a terminal would act on or hide (control characters, escape
    sequences, bidirectional overrides, zero-width characters) written as a Python escape such
    as ``\\x1b`` or ``\\u202e``; everything else unchanged. ``keep_newlines``: for multi-line
    output built by the program itself (a summary), whose line breaks are meant."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or (keep_newlines and ch == "\n"):
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


def control_character(text: str, *, one_line: bool = False) -> tuple[int, str] | None:
    """The first character of ``text`` that a file's text must not hold, as (index, character),
    or None. Refused: control characters (tab and newline are allowed unless ``one_line``) and
    the invisible ordering characters; ordinary spaces, accents and emoji are fine."""
    for i, ch in enumerate(text):
        if ch in "\t\n":
            if one_line:
                return i, ch
            continue
        if ch in _INVISIBLE or unicodedata.category(ch) == "Cc":
            return i, ch
    return None
