"""The hash chain that makes a session record tamper-evident.

Every line of ``events.jsonl`` ends with ``"hash":"<32 hex>"``: the first 128 bits of
SHA-256(previous line's hash + this line without its hash field). The chain starts from a fixed
seed, so records stay byte-identical for the same inputs; any changed, removed, inserted or
reordered line breaks the chain at that line.
"""

from __future__ import annotations

import hashlib

SEED = hashlib.sha256(b"vr-session-chain-v1").hexdigest()[:32]
_MARK = b',"hash":"'
HASH_HEX = 32


def link(previous: str, body: bytes) -> str:
    """The hash of a line whose JSON (without the hash field) is ``body``."""
    return hashlib.sha256(previous.encode("ascii") + body).hexdigest()[:HASH_HEX]


def seal(previous: str, body: bytes) -> tuple[bytes, str]:
    """Append the hash field to a JSON object's bytes (``{...}``); returns (line with newline, hash)."""
    h = link(previous, body)
    return body[:-1] + _MARK + h.encode("ascii") + b'"}\n', h


def split(line: bytes) -> tuple[bytes, str] | None:
    """(body, hash) of a sealed line (no newline), or None when the line carries no hash field."""
    at = line.rfind(_MARK)
    if at < 0 or not line.endswith(b'"}') or len(line) - at - len(_MARK) - 2 != HASH_HEX:
        return None
    return line[:at] + b"}", line[at + len(_MARK):-2].decode("ascii", "replace")
