"""The console's gate: the checks every request passes before any route sees it.

- ``Host``: a loopback server answers loopback names only; a network server also answers its own
  address and this computer's name, and the address a request actually reached it on. Another
  name is refused, token or not: a page on a rebound name (DNS rebinding) must not get through
  just because it also has the token.
- ``Origin``: another site's page is refused.
- The token (network addresses only): ``Authorization: Bearer TOKEN`` or the console's cookie.
  ``?token=`` in the address counts only on the page's first load (``GET /``): that answer sets
  the cookie and sends the browser back to the address without the token, so it leaves neither
  the address bar nor the history, and it is never taken on the API or the WebSocket (addresses
  end up in logs and in other people's screenshots).
- Wrong tokens (network addresses only) are counted per client address (``vr.console.lockout``):
  an address that keeps guessing is answered ``429`` for a while, and the session is told.
- ``POST`` bodies must be declared JSON (a foreign page cannot send that without asking first).

Errors say what is wrong and what to do, as JSON ``{"error": ...}``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Callable, Iterable

from aiohttp import web

from vr.console.lockout import Lockout, client_key

COOKIE = "vr_console"
MAX_BODY = 16 * 1024
PAGE = "/"
WILDCARDS = ("0.0.0.0", "::", "")


def error(status: int, message: str, **extra) -> web.Response:
    """A JSON error answer: ``{"error": message, ...extra}``."""
    return web.Response(status=status, text=json.dumps({"error": message, **extra}), content_type="application/json")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a ``Host`` header, lower case, without the port or brackets ('' when malformed)."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        rest = header[end + 1:] if end > 0 else ""
        return header[1:end] if end > 0 and (not rest or rest.startswith(":")) else ""
    name, _, _ = header.partition(":")
    return name


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address, IPv4-mapped IPv6 as IPv4 (a dual-stack socket reports those), no zone; None if not one."""
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    return ip.ipv4_mapped or ip if ip.version == 6 else ip


def reachable(host: str) -> str:
    """The address to print: for 'every address' (0.0.0.0, ::), this computer's address on its LAN."""
    if host not in WILDCARDS:
        return host
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))  # no packet is sent; this only picks the outgoing interface
            return probe.getsockname()[0]
    except OSError:
        return socket.gethostname()


def own_names(host: str) -> set[str]:
    """The names a server bound to ``host`` (a network address) answers to besides loopback ones:
    the address itself, the one it prints, this computer's name (and its mDNS ``.local`` name)."""
    name = socket.gethostname()
    return {n.lower() for n in (host if host not in WILDCARDS else "", reachable(host), name, f"{name}.local") if n}


class Guard:
    """The checks; ``token`` None on a loopback address (where nothing else can connect)."""

    def __init__(self, token: str | None, names: Iterable[str] = (), lockout: Lockout | None = None,
                 alert: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        """``names``: what a network server answers to beyond loopback names (see ``own_names``);
        ``lockout``: counts wrong tokens (a new ``Lockout`` by default); ``alert``: told, for the
        session, when an address is locked out (never with a token in it)."""
        self.token = token
        self.names = {n.lower() for n in names} if token is not None else set()
        self.lockout = lockout or Lockout()
        self.alert = alert
        self.clock = clock

    def host_ok(self, header: str, local_ip: str | None) -> bool:
        """``header``: the request's ``Host``; ``local_ip``: this end of the connection it came on."""
        name = host_name(header)
        if not name:
            return False
        if is_loopback(name) or name in self.names:
            return True
        # On 0.0.0.0 a tablet may reach any of this computer's addresses: the one it connected to is fine.
        given = _ip(name)
        return self.token is not None and given is not None and given == _ip(local_ip)

    def token_ok(self, request: web.Request, *, from_address: bool = False) -> bool:
        """The token in the ``Authorization`` header or the cookie; with ``from_address``, ``?token=`` too."""
        if self.token is None:
            return True
        return any(hmac.compare_digest(g.encode(), self.token.encode()) for g in self._given(request, from_address))

    @staticmethod
    def _given(request: web.Request, from_address: bool) -> list[str]:
        """The tokens a request sends (none empty)."""
        auth = request.headers.get("Authorization", "")
        given = [auth[7:].strip()] if auth.startswith("Bearer ") else []
        given.append(request.cookies.get(COOKIE, ""))
        if from_address:
            given.append(request.query.get("token", ""))
        return [g for g in given if g]

    def _refused(self, request: web.Request, from_address: bool) -> None:
        """A request without the right token: count the tokens it sent (if any) against its address."""
        client = client_key(request.remote)
        for given in self._given(request, from_address):
            lock_s = self.lockout.wrong(client, given, self.clock())
            if lock_s and self.alert is not None:
                self.alert(f"console: {self.lockout.max_wrong} wrong tokens from {client} within "
                           f"{self.lockout.window_s:.0f} s; that address is refused for {lock_s:.0f} s "
                           "(someone on the network may be guessing the token; the session goes on)")

    def _locked(self, request: web.Request) -> web.Response | None:
        """``429`` for an address locked out for wrong tokens (see ``vr.console.lockout``), else None."""
        if self.token is None:
            return None
        wait_s = self.lockout.retry_after(client_key(request.remote), self.clock())
        if not wait_s:
            return None
        response = error(429, f"too many wrong tokens from this address; try again in {wait_s} s with the full "
                              "address printed when the session started")
        response.headers["Retry-After"] = str(wait_s)
        return _secured(response)

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        local = request.transport.get_extra_info("sockname") if request.transport is not None else None
        if not self.host_ok(request.headers.get("Host", ""), local[0] if local else None):
            return error(403, "this console answers on its own address only (the Host header names another); "
                              "open the address printed when the session started")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            return error(403, "requests from another site's page are refused")
        locked = self._locked(request)
        if locked is not None:
            return locked
        first_load = request.method in ("GET", "HEAD") and request.path == PAGE and "token" in request.query
        if first_load and self.token is not None:
            return self._first_load(request)
        if not self.token_ok(request):
            self._refused(request, from_address=False)
            in_address = "token" in request.query
            return error(401, ("the token in the address opens the page only (its first load); scripts send "
                               "'Authorization: Bearer TOKEN'") if in_address else
                         "this console needs its token: open the full address printed when the session started, "
                         "or send 'Authorization: Bearer TOKEN'")
        if request.method == "POST" and request.content_type != "application/json":
            return error(415, "send the command as JSON with 'Content-Type: application/json'")
        try:
            response = await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return error(413, f"the body is larger than {MAX_BODY // 1024} KiB")
        except web.HTTPException as e:
            if e.status >= 400:
                return error(e.status, e.reason)
            raise
        return _secured(response)

    def _first_load(self, request: web.Request) -> web.Response:
        """``GET /?token=``: the cookie, then back to the same address without the token."""
        if not self.token_ok(request, from_address=True):
            self._refused(request, from_address=True)
            return error(401, "the token in this address is not this session's: open the full address printed "
                              "when the session started")
        clean = request.rel_url.with_query([(k, v) for k, v in request.query.items() if k != "token"])
        response = web.Response(status=303, headers={"Location": str(clean)})
        # Secure over HTTPS: a browser must never send it to this address over plain HTTP (any port).
        response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict", path="/", secure=request.secure)
        return _secured(response)


def _secured(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
