"""Private files written whole or not at all: what a record's header, reports and CSV files are written with.

Each file is written to a temporary name in the same folder, created 0600 from the first byte
(never widened by the umask, never briefly world-readable), fsynced and then renamed over the
final name. If anything fails (a full disk, a read-only file system) the temporary file is
removed and the error raised: no half-written file and no ``.tmp`` is ever left behind, and the
file that was there before stays as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from vr.record.privacy import FILE_MODE, fsync_dir


@contextlib.contextmanager
def private_output(path: Path, *, text: bool = True, newline: str | None = None) -> Iterator[IO]:
    """Open ``path`` for writing as a new 0600 file that replaces the old one only when the block ends.

    ``text``: a UTF-8 text stream (``newline`` as for ``open``, e.g. ``""`` for the csv module);
    otherwise a binary one. Raises ``OSError`` as the disk does, after removing the temporary file.
    """
    path = Path(path)
    # mkstemp: a fresh name (O_EXCL, so no file or link planted there is followed), mode 0600.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        stream = (os.fdopen(fd, "w", encoding="utf-8", newline=newline) if text else os.fdopen(fd, "wb"))
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    try:
        with stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def replace_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step, 0600; on failure nothing changes and nothing is left."""
    with private_output(path, text=False) as f:
        f.write(data)


def reserve_space(path: Path, size_bytes: int) -> bool:
    """Hold ``size_bytes`` of disk in a new 0600 file at ``path``; False (and no file) if the disk refuses.

    A record keeps such a file while it is written and deletes it just before writing its
    final header, so the header (and the summary after it) can still be written when the disk
    has filled up meanwhile."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE)
    except OSError:
        return False
    try:
        block = bytes(min(size_bytes, 65536))
        left = size_bytes
        while left > 0:
            left -= os.write(fd, block[:left])
        os.fsync(fd)
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        return False
    os.close(fd)
    return True


def release_space(path: Path) -> None:
    """Delete a file made by ``reserve_space`` (it may be gone already)."""
    with contextlib.suppress(OSError):
        path.unlink()
