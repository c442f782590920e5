"""The console's web server: aiohttp on an asyncio loop in a thread of its own.

Routes (``docs/console.md`` is the reference): the page (``/``, ``/static/...``), ``GET
/api/info``, ``/api/state``, ``/api/events``, ``/api/mirror.jpg``, ``POST /api/command`` and the
WebSocket ``/api/ws``. Every request passes three checks first: the ``Host`` (a loopback server
answers loopback names only, against DNS rebinding), the ``Origin`` (another site's page is
refused) and, on a network address, the session's token. A bad request is answered here and
never reaches the session; the session only ever sees commands through ``ConsoleHub.submit``.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import itertools
import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from aiohttp import WSMsgType, web

from vr.console.commands import BadCommand, parse
from vr.console.hub import ConsoleHub
from vr.console.mirror import encode

STATIC = Path(__file__).parent / "static"
MAX_BODY = 16 * 1024
ANSWER_WITHIN_S = 2.0
STATE_MIN_S = 0.05        # a client gets at most 20 states a second (more when there is news)
SEND_TIMEOUT_S = 10.0
COOKIE = "vr_console"
KEEP_IDS = 10_000
DEFAULT_PORT = 8765
PORT_TRIES = 11


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), default=_plain)


def _plain(value):
    """numpy scalars and arrays, and anything else odd in an event's data."""
    tolist = getattr(value, "tolist", None)
    return tolist() if tolist is not None else str(value)


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=_dumps({"error": message}), content_type="application/json")


class ConsoleServer:
    """Serves one session's console until ``close``."""

    def __init__(self, hub: ConsoleHub, host: str = "127.0.0.1", port: int | None = None) -> None:
        """``port``: None tries 8765 to 8775; 0 takes any free port."""
        self.hub = hub
        self.host = host
        self.port = port
        self.token = None if is_loopback(host) else secrets.token_urlsafe(16)
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._tick: asyncio.Event | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._answers: OrderedDict[str, asyncio.Future] = OrderedDict()
        self._numbers = itertools.count(1)
        self._mirror_jpeg: bytes | None = None
        self._mirror_version = 0

    # -- life --------------------------------------------------------------------------------------
    def start(self) -> str:
        """Bind and serve; returns the address to open (with the token when one is needed)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._bind())
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=main, name="vr-console", daemon=True)
        self._thread.start()
        ready.wait(30.0)
        if failure:
            raise failure[0]
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{shown}:{self.port}/" + (f"?token={self.token}" if self.token else "")
        self.hub.listen(self._wake)
        return self.url

    async def _bind(self) -> None:
        self._tick = asyncio.Event()
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._guard])
        app.router.add_get("/", self._page)
        app.router.add_static("/static", STATIC, show_index=False, follow_symlinks=False)
        app.router.add_get("/api/info", self._info)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/api/events", self._events)
        app.router.add_get("/api/mirror.jpg", self._mirror)
        app.router.add_post("/api/command", self._command)
        app.router.add_get("/api/ws", self._ws)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        ports = [self.port] if self.port is not None else range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES)
        last: OSError | None = None
        for port in ports:
            site = web.TCPSite(self._runner, self.host, port, reuse_address=True)
            try:
                await site.start()
            except OSError as e:
                last = e
                continue
            self.port = site._server.sockets[0].getsockname()[1]  # the real port when 0 was asked for
            return
        await self._runner.cleanup()
        tried = f"port {self.port}" if self.port is not None else f"ports {DEFAULT_PORT}-{DEFAULT_PORT + PORT_TRIES - 1}"
        raise RuntimeError(f"the console cannot listen on {self.host} ({tried}: {last.strerror if last else ''}); "
                           "choose another with --console-port PORT (0: any free port), or run with --no-console")

    async def _shutdown(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"session over")
        if self._runner is not None:
            await self._runner.cleanup()

    def close(self) -> None:
        """Push the last state to the viewers, then stop serving."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(self._pulse)  # the last state goes out, then the loop stops
        loop.call_soon_threadsafe(lambda: loop.call_later(0.3, loop.stop))
        thread.join(5.0)

    def _wake(self) -> None:
        """From the frame thread: something is new."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._pulse)
            except RuntimeError:  # the loop is closing
                pass

    def _pulse(self) -> None:
        raw = self.hub.take_mirror()
        if raw is not None:
            self._loop.run_in_executor(None, self._encode, raw)
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    def _encode(self, raw) -> None:
        jpeg = encode(raw)
        self._loop.call_soon_threadsafe(self._new_mirror, jpeg)

    def _new_mirror(self, jpeg: bytes) -> None:
        self._mirror_jpeg = jpeg
        self._mirror_version += 1
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    # -- checks --------------------------------------------------------------------------------------
    def _host_ok(self, request: web.Request) -> bool:
        if self.token is not None:
            return True  # the token guards a network address; a rebound name never carries its cookie
        host = request.host.rsplit(":", 1)[0].strip("[]") if request.host else ""
        return is_loopback(host)

    def _token_ok(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        auth = request.headers.get("Authorization", "")
        given = [auth[7:].strip()] if auth.startswith("Bearer ") else []
        given += [request.cookies.get(COOKIE, ""), request.query.get("token", "")]
        return any(g and hmac.compare_digest(g.encode(), self.token.encode()) for g in given)

    @web.middleware
    async def _guard(self, request: web.Request, handler):
        if not self._host_ok(request):
            return _error(403, "this console answers on its own address only (the Host header names another)")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            return _error(403, "requests from another site's page are refused")
        if not self._token_ok(request):
            return _error(401, "this console needs its token: open the full address printed when the session "
                               "started, or send 'Authorization: Bearer TOKEN'")
        if request.method == "POST" and request.content_type != "application/json":
            return _error(415, "send the command as JSON with 'Content-Type: application/json'")
        try:
            response = await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"the body is larger than {MAX_BODY // 1024} KiB")
        except web.HTTPException as e:
            if e.status >= 400:
                return _error(e.status, e.reason)
            raise
        if self.token is not None and request.query.get("token") and request.path == "/":
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict", path="/")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    # -- routes --------------------------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(STATIC / "index.html")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'")
        return response

    async def _info(self, request: web.Request) -> web.Response:
        return web.Response(text=_dumps(self.hub.info), content_type="application/json")

    async def _state(self, request: web.Request) -> web.Response:
        return web.Response(text=_dumps(self.hub.state()), content_type="application/json")

    async def _events(self, request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            return _error(400, "'since' must be a whole number (the 'next' of the last answer)")
        events, seq = self.hub.events_since(since)
        return web.Response(text=_dumps({"events": events, "next": seq}), content_type="application/json")

    async def _mirror(self, request: web.Request) -> web.Response:
        self.hub.want_mirror()
        if self._mirror_jpeg is None:
            return web.Response(status=204)
        return web.Response(body=self._mirror_jpeg, content_type="image/jpeg")

    async def _command(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"null")
        except (ValueError, UnicodeDecodeError):
            return _error(400, 'the body is not JSON; send e.g. {"command": "pause", "id": "c-1"}')
        try:
            answer = await self.apply(body)
        except BadCommand as e:
            return _error(400, str(e))
        if answer is None:
            return _error(503, "the session has ended")
        return web.Response(text=_dumps(answer), content_type="application/json")

    async def apply(self, body) -> dict | None:
        """Check a command, queue it once per id, and wait (briefly) for the session's answer."""
        parsed = parse(body, self.hub.info)
        if self.hub.ended:
            return None
        cid = parsed.id or f"api-{next(self._numbers)}"
        known = self._answers.get(cid)
        if known is not None:
            return {**await self._wait(known, cid), "repeat": True}
        answer = self._loop.create_future()
        self._answers[cid] = answer
        while len(self._answers) > KEEP_IDS:
            self._answers.popitem(last=False)
        if parsed.command is not None:
            loop = self._loop

            def done(result: dict) -> None:
                loop.call_soon_threadsafe(lambda: answer.done() or answer.set_result(result))

            self.hub.expect(cid, done)
            self.hub.submit(command=replace(parsed.command, id=cid))
        else:
            self.hub.submit(rating=parsed.rating, words=parsed.words)
            answer.set_result({"id": cid, "status": "queued"})
        return await self._wait(answer, cid)

    @staticmethod
    async def _wait(answer: asyncio.Future, cid: str) -> dict:
        try:
            return dict(await asyncio.wait_for(asyncio.shield(answer), ANSWER_WITHIN_S))
        except asyncio.TimeoutError:
            return {"id": cid, "status": "queued"}

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        try:
            seq = max(int(request.query.get("since", "0")), 0)
        except ValueError:
            return _error(400, "'since' must be a whole number")
        ws = web.WebSocketResponse(heartbeat=10.0, max_msg_size=MAX_BODY)
        await ws.prepare(request)
        self._sockets.add(ws)
        client = {"mirror": True}
        self.hub.viewers += 1
        self.hub.mirror_viewers += 1
        reader = asyncio.ensure_future(self._read(ws, client))
        try:
            events, seq = self.hub.events_since(seq)
            await self._send(ws, {"type": "hello", "info": self.hub.info, "state": self.hub.state(),
                                  "events": events, "next": seq})
            await self._feed(ws, client, seq)
        except (ConnectionError, asyncio.TimeoutError, RuntimeError):
            pass  # the client went away; nothing in the session depends on it
        finally:
            reader.cancel()
            self._sockets.discard(ws)
            self.hub.viewers -= 1
            self.hub.mirror_viewers -= 1 if client["mirror"] else 0
            await ws.close()
        return ws

    async def _feed(self, ws: web.WebSocketResponse, client: dict, seq: int) -> None:
        """Send what is new until the socket closes: events at once, state, the newest mirror picture."""
        loop = asyncio.get_running_loop()
        state_sent, state_at, mirror_sent = self.hub.state(), loop.time(), self._mirror_version
        while not ws.closed:
            tick = self._tick
            events, now_seq = self.hub.events_since(seq)
            if events:
                await self._send(ws, {"type": "events", "events": events, "next": now_seq})
                seq = now_seq
            state = self.hub.state()
            if state is not state_sent and (events or loop.time() - state_at >= STATE_MIN_S
                                            or state.get("seq") != state_sent.get("seq")):
                await self._send(ws, {"type": "state", "state": state})
                state_sent, state_at = state, loop.time()
            if client["mirror"] and self._mirror_version != mirror_sent and self._mirror_jpeg is not None:
                mirror_sent = self._mirror_version
                await asyncio.wait_for(ws.send_bytes(self._mirror_jpeg), SEND_TIMEOUT_S)
            try:  # a state held back by the rate limit goes out after STATE_MIN_S
                await asyncio.wait_for(tick.wait(), STATE_MIN_S if state is not state_sent else 1.0)
            except asyncio.TimeoutError:
                pass

    async def _read(self, ws: web.WebSocketResponse, client: dict) -> None:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                body = json.loads(msg.data)
            except ValueError:
                await self._send(ws, {"type": "error", "error": "not JSON"})
                continue
            kind = body.get("type") if isinstance(body, dict) else None
            if kind == "mirror":
                on = bool(body.get("on"))
                if on != client["mirror"]:
                    self.hub.mirror_viewers += 1 if on else -1
                    client["mirror"] = on
            elif kind == "command":
                try:
                    answer = await self.apply({k: v for k, v in body.items() if k != "type"})
                except BadCommand as e:
                    answer = {"id": body.get("id"), "status": "error", "error": str(e)}
                await self._send(ws, {"type": "result", **(answer or {"status": "error",
                                                                      "error": "the session has ended"})})
            else:
                await self._send(ws, {"type": "error", "error": "messages are {'type': 'command'|'mirror', ...}"})

    @staticmethod
    async def _send(ws: web.WebSocketResponse, message: dict) -> None:
        await asyncio.wait_for(ws.send_str(_dumps(message)), SEND_TIMEOUT_S)
