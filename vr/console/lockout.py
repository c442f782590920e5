"""Wrong tokens, counted per client address: a network console refuses an address that keeps guessing.

After ``MAX_WRONG`` different wrong tokens from one address within ``WINDOW_S``, every request
from it is answered ``429`` (with ``Retry-After``) for ``FIRST_LOCK_S``; each lockout after that,
before the address has been quiet for ``FORGET_S``, lasts twice as long as the one before, up
to ``LONGEST_LOCK_S``. While an address is locked nothing it sends is checked, the right token
included: a guesser must not learn from the answers which guess was right.

What counts is a token that was sent and is wrong. A request with no token at all guesses
nothing (someone who opened the address without its token), and the same wrong token again
tells a guesser nothing new (a page left open from an earlier session, with that session's
cookie, reconnecting every few seconds): neither counts. Other addresses are never affected.
IPv6 clients are counted by their /64 network, which one machine can fill with addresses.

Only digests of the wrong tokens are kept, never the tokens. One asyncio loop uses it (no locks).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections import OrderedDict
from dataclasses import dataclass, field

MAX_WRONG = 5
WINDOW_S = 60.0
FIRST_LOCK_S = 60.0
LONGEST_LOCK_S = 3600.0
FORGET_S = 3600.0
MAX_CLIENTS = 4096


def client_key(address: str | None) -> str:
    """What an address is counted under: IPv4 (IPv4-mapped IPv6 too) as it is, IPv6 by its /64."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return address or "?"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class _Client:
    wrong: list[tuple[float, bytes]] = field(default_factory=list)   # (when, digest), within the window
    locked_until: float = 0.0
    lockouts: int = 0
    last_s: float = 0.0


class Lockout:
    """Counts wrong tokens per client; times are a monotonic clock's seconds, given by the caller."""

    def __init__(self, max_wrong: int = MAX_WRONG, window_s: float = WINDOW_S, first_lock_s: float = FIRST_LOCK_S,
                 longest_lock_s: float = LONGEST_LOCK_S, forget_s: float = FORGET_S,
                 max_clients: int = MAX_CLIENTS) -> None:
        self.max_wrong = max_wrong
        self.window_s = window_s
        self.first_lock_s = first_lock_s
        self.longest_lock_s = longest_lock_s
        self.forget_s = forget_s
        self.max_clients = max_clients
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def retry_after(self, client: str, now_s: float) -> int:
        """Whole seconds until ``client`` may try again; 0 when it is not locked."""
        known = self._clients.get(client)
        if known is None or now_s >= known.locked_until:
            return 0
        return max(1, math.ceil(known.locked_until - now_s))

    def wrong(self, client: str, token: str, now_s: float) -> float:
        """``client`` sent ``token`` and it was wrong; returns the lockout this starts, in seconds (0: none)."""
        known = self._clients.pop(client, None) or _Client()
        self._clients[client] = known          # the most recent at the end; the oldest are forgotten first
        while len(self._clients) > self.max_clients:
            self._clients.popitem(last=False)
        if known.last_s and now_s - known.last_s > self.forget_s:
            known.lockouts = 0
        known.last_s = now_s
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()[:16]
        known.wrong = [(t, d) for t, d in known.wrong if now_s - t <= self.window_s and d != digest]
        known.wrong.append((now_s, digest))
        if len(known.wrong) < self.max_wrong:
            return 0.0
        lock_s = min(self.first_lock_s * 2 ** known.lockouts, self.longest_lock_s)
        known.lockouts += 1
        known.locked_until = now_s + lock_s
        known.wrong = []
        return lock_s
