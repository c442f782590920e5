"""An aiohttp site that speaks HTTPS only, and answers plain HTTP on its port with words, not silence.

A browser sent to ``http://`` on a TLS port (an address typed without ``https://``) would get
nothing but a dropped connection. So each new connection's first byte is peeked at (it stays in
the socket): a TLS handshake begins with 0x16 and goes on as HTTPS; anything else is read as a
plain HTTP request and answered, unencrypted, with a redirect to the console's https address
(``307``, the path kept, never a query). A plain request that carried this session's token (in
the address, an ``Authorization`` header or a cookie) is refused instead (``400``), and the
session is told: the token has crossed the network in the clear. (The console's cookie is
``Secure``, so a browser never sends it over plain HTTP.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import socket
import ssl
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

SNIFF_S = 10.0            # a connection that says nothing for this long is closed
MAX_PLAIN_HEAD = 8192     # the most of a plain request's head that is read before answering
TLS_HANDSHAKE = 0x16


class HttpsOnlySite(web.BaseSite):
    """Serves ``runner``'s application over TLS on ``host``:``port`` (0: any free port)."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, *, context: ssl.SSLContext, address: str,
                 token: str, alert: Callable[[str], None] | None = None) -> None:
        """``address``: the https address to send plain requests to (no token); ``token``: the session's
        (to tell whether a plain request gave it away); ``alert``: told, for the session, when one did."""
        super().__init__(runner)
        self._host, self._port = host, port
        self._context = context
        self.address = address
        self._token = token
        self._alert = alert
        self._listeners: list[socket.socket] = []
        self._accepting: list[asyncio.Task] = []
        self._pending: set[asyncio.Task] = set()

    @property
    def name(self) -> str:
        return self.address

    @property
    def port(self) -> int:
        return self._listeners[0].getsockname()[1] if self._listeners else self._port

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(self._host or None, self._port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
        try:
            for family, kind, proto, _, where in dict.fromkeys(infos):
                sock = socket.socket(family, kind, proto)
                self._listeners.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(where if self._port or not self._listeners[:-1] else (where[0], self.port, *where[2:]))
                sock.listen(self._backlog)
                sock.setblocking(False)
        except OSError:
            self._close_listeners()
            raise
        self._accepting = [asyncio.ensure_future(self._accept(sock)) for sock in self._listeners]

    async def stop(self) -> None:
        for task in [*self._accepting, *self._pending]:
            task.cancel()
        self._close_listeners()
        await super().stop()

    def _close_listeners(self) -> None:
        for sock in self._listeners:
            sock.close()

    async def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(listener)
            except OSError:   # (out of descriptors, a reset before accept): the next one may do
                await asyncio.sleep(0.05)
                continue
            task = asyncio.ensure_future(self._sniff(conn))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _sniff(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        conn.setblocking(False)
        try:
            readable = loop.create_future()
            loop.add_reader(conn.fileno(), lambda: readable.done() or readable.set_result(None))
            try:
                await asyncio.wait_for(readable, SNIFF_S)
            finally:
                loop.remove_reader(conn.fileno())
            first = conn.recv(1, socket.MSG_PEEK)
            if first and first[0] == TLS_HANDSHAKE:
                await loop.connect_accepted_socket(self._runner.server, conn, ssl=self._context,
                                                   ssl_handshake_timeout=SNIFF_S)
            elif first:
                await loop.connect_accepted_socket(lambda: _PlainAnswer(self), conn)
            else:
                conn.close()
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            conn.close()   # said nothing, or a handshake that failed: nothing reached the application
        except asyncio.CancelledError:
            conn.close()
            raise

    def gave_token(self, head: bytes) -> bool:
        """Whether a plain request's head carries the session's token anywhere a client sends it."""
        lines = head.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else ""
        given = [v for k, v in parse_qsl(urlsplit(target).query) if k == "token"]
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "authorization" and value.startswith("Bearer "):
                given.append(value[7:].strip())
            elif name == "cookie":
                given += [c.partition("=")[2].strip() for c in value.split(";")]
        return any(g and hmac.compare_digest(g.encode("latin-1"), self._token.encode()) for g in given)


class _PlainAnswer(asyncio.Protocol):
    """One plain HTTP request on the TLS port: read its head, answer it, close."""

    def __init__(self, site: HttpsOnlySite) -> None:
        self.site = site
        self.head = b""
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.timer = asyncio.get_running_loop().call_later(SNIFF_S, transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()

    def data_received(self, data: bytes) -> None:
        if self.head is None:
            return
        self.head += data
        if b"\r\n\r\n" not in self.head and len(self.head) < MAX_PLAIN_HEAD:
            return
        head, self.head = self.head.split(b"\r\n\r\n", 1)[0], None
        request = head.split(b"\r\n", 1)[0].split(b" ")
        path = urlsplit(request[1].decode("latin-1")).path if len(request) > 1 else "/"
        https = self.site.address.rstrip("/") + (path if path.startswith("/") else "/")
        if self.site.gave_token(head):
            status = "400 Bad Request"
            text = (f"This console speaks HTTPS only: open {https} as printed (with its token), beginning "
                    "https://. This request sent the session's token unencrypted: anyone on the network may "
                    "have seen it. Stop the session and start it again for a new token.\n")
            if self.site._alert is not None:
                self.site._alert("console: a request sent this session's token over plain HTTP (http://, not "
                                 "https://); anyone on the network may have seen it: stop the session and start "
                                 "it again for a new token")
            extra = ""
        else:
            status, text, extra = ("307 Temporary Redirect", f"This console speaks HTTPS only: {https}\n",
                                   f"Location: {https}\r\n")
        body = text.encode()
        with contextlib.suppress(OSError):
            self.transport.write(f"HTTP/1.1 {status}\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n"
                                 f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n"
                                 "\r\n".encode() + body)
        self.transport.close()
