"""Pseudonyms and private files: a session record never holds a name and is readable by its owner only.

Pseudonym format: a site or study code of 1-3 capital letters, a hyphen, then 2-5 digits
(``P-0042``, ``XR-07``, ``SIM-0001``). The shape leaves no room for a name (four letters would
already fit ``JOHN``, five ``SMITH``) or a date of birth (six digits fit ``DDMMYY``, eight
``YYYYMMDD``), and nothing else: no lower case, no spaces, no line breaks or other control
characters, since the pseudonym becomes part of folder and file names. The letters are a code
for the site or study, never the patient's initials.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

PSEUDONYM_RE = re.compile(r"[A-Z]{1,3}-[0-9]{2,5}")   # always with fullmatch: '$' would let a newline through
MAX_LETTERS = 3
MAX_DIGITS = 5
DIR_MODE = 0o700
FILE_MODE = 0o600


def check_pseudonym(value: str) -> str:
    """Return ``value`` if it is a valid pseudonym; raise ``ValueError`` saying what is wrong otherwise.

    The whole string must match (``fullmatch``): a trailing newline or space is refused, not trimmed,
    so the folder and file names made from it are exactly what was checked."""
    text = value if isinstance(value, str) else ""
    if PSEUDONYM_RE.fullmatch(text):
        return text
    raise ValueError(f"{value!r} is not a pseudonym: {_why(text)}; use 1-{MAX_LETTERS} capital letters "
                     f"(a site or study code), a hyphen and 2-{MAX_DIGITS} digits, e.g. P-0042 "
                     "(never a name, initials or a date of birth)")


def _why(text: str) -> str:
    """What is wrong with ``text``, in the words a clinician needs to pick a better one."""
    if not text:
        return "it is empty"
    if any(c.isspace() or not c.isprintable() for c in text):
        return "it holds a space, a line break or another control character"
    letters, hyphen, digits = text.partition("-")
    if not hyphen:
        return "it has no hyphen between the code and the number"
    if not letters.isalpha():
        return "the part before the hyphen must be letters only"
    if not (letters.isascii() and letters.isupper()):
        return "the letters must be plain capitals A-Z"
    if len(letters) > MAX_LETTERS:
        return f"{len(letters)} letters before the hyphen could be a name"
    if not digits:
        return "there is no number after the hyphen"
    if not re.fullmatch(r"[0-9]+", digits):
        return "the part after the hyphen must be digits only"
    if len(digits) > MAX_DIGITS:
        return f"{len(digits)} digits could be a date of birth"
    return f"{len(digits)} digit{'' if len(digits) == 1 else 's'} is too short a number"


def new_pseudonym(prefix: str = "P") -> str:
    """A random pseudonym such as ``P-48291``."""
    return check_pseudonym(f"{prefix}-{secrets.randbelow(90000) + 10000}")


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) as 0700; refuse one that already holds files."""
    if path.exists():
        if not path.is_dir():
            raise FileExistsError(f"{path} exists and is not a folder; choose another --out")
        if any(path.iterdir()):
            raise FileExistsError(f"{path} already holds files; choose a new folder so no record is overwritten")
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask


def open_private(path: Path, *, exclusive: bool = True) -> int:
    """Open ``path`` for appending as a new 0600 file; returns the descriptor."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_EXCL if exclusive else 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, FILE_MODE)
    os.chmod(path, FILE_MODE)
    return fd


def fsync_dir(path: Path) -> None:
    """Make a new file's name durable (no such call on Windows, where it is not needed)."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step (temporary file, fsync, rename), 0600."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), FILE_MODE)
    try:
        os.chmod(tmp, FILE_MODE)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
