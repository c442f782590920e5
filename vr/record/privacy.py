"""Pseudonyms and private files: a session record never holds a name and is readable by its owner only.

Pseudonym format: 1-6 capital letters, a hyphen, then 2-12 digits (``P-0042``, ``SIM-7``
is too short, ``CLINIC-20260114``). Digits only after the hyphen, so no name fits the pattern.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

PSEUDONYM_RE = re.compile(r"^[A-Z]{1,6}-[0-9]{2,12}$")
DIR_MODE = 0o700
FILE_MODE = 0o600


def check_pseudonym(value: str) -> str:
    """Return ``value`` if it is a valid pseudonym; raise ``ValueError`` explaining the format otherwise."""
    if not PSEUDONYM_RE.match(value or ""):
        raise ValueError(f"{value!r} is not a pseudonym: use 1-6 capital letters, a hyphen and 2-12 digits, "
                         "e.g. P-0042 (never a name)")
    return value


def new_pseudonym(prefix: str = "P") -> str:
    """A random pseudonym such as ``P-482913``."""
    return check_pseudonym(f"{prefix}-{secrets.randbelow(900000) + 100000}")


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
