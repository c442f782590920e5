"""The console's web server: aiohttp in a process of its own (``serve``), fed by ``ConsoleHub``.

Routes (``docs/console.md`` is the reference): the page (``/``, ``/static/...``), ``GET
/api/info``, ``/api/state``, ``/api/events``, ``/api/mirror.jpg``, ``POST /api/command`` and the
WebSocket ``/api/ws``. Every request passes the checks of ``vr.console.guard`` first (the
``Host``, the ``Origin``, on a network address the session's token). On a network address the
console speaks HTTPS only, with the install's certificate (``vr.console.tls``). A bad request is answered
here and never reaches the session: only checked commands go down the pipe to the frame loop,
once per id, at most ``intake.MAX_COMMANDS_PER_S`` a second but panic, stop and pause never limited
(``vr.console.intake``). Up the pipe come the console's events (numbered by the hub, kept in
``ConsoleStore``), the state and the mirror pictures (JPEG).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import time
from dataclasses import replace
from pathlib import Path

from aiohttp import WSMsgType, web

from vr.console.commands import BadCommand, Parsed, decode, parse
from vr.console.guard import MAX_BODY, Guard, error, is_loopback, own_names, reachable
from vr.console.intake import Conflict, Intake, TooMany
from vr.console.store import ConsoleStore
from vr.console.tls import Certificate, ensure_certificate
from vr.console.tls_site import HttpsOnlySite

__all__ = ["ConsoleServer", "serve", "is_loopback"]   # is_loopback: for the command line

STATIC = Path(__file__).parent / "static"
ANSWER_WITHIN_S = 2.0
STATE_MIN_S = 0.05        # a client gets at most 20 states a second (more when there is news)
SEND_TIMEOUT_S = 10.0
DEFAULT_PORT = 8765
MIRROR_WANTED_S = 3.0     # a GET of the mirror keeps pictures coming this long
PORT_TRIES = 11
STATUS = {BadCommand: 400, Conflict: 409, TooMany: 429}   # a refused request's HTTP status


def _dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), default=_plain)


def _plain(value):
    """numpy scalars and arrays, and anything else odd in an event's data."""
    tolist = getattr(value, "tolist", None)
    return tolist() if tolist is not None else str(value)


def serve(conn, info: dict, host: str, port: int | None, token: str | None) -> None:
    """The console's process: bind, say so (or why not), serve until the session closes the pipe."""
    # (Not at a lower priority: with the renderer busy on every core, a niced console waited out
    # whole frames, and a command's answer took 50 ms instead of 20 ms at 960x540 here.)
    for name in ("SIGINT", "SIGHUP"):  # a terminal's Ctrl-C or hang-up: the session closes the pipe after its clean end
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    server = ConsoleServer(conn, info, host, port, token)
    loop = server.loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(server.bind())
    except Exception as e:  # noqa: BLE001 - whatever it is, the session is told and goes on without
        conn.send(("failed", str(e) if isinstance(e, (RuntimeError, OSError)) else f"{type(e).__name__}: {e}"))
        return
    cert = server.certificate
    conn.send(("ready", {"url": server.url, "token": server.token, "port": server.port,
                         "fingerprint": cert.fingerprint if cert else None, "notes": list(cert.notes) if cert else []}))
    loop.add_reader(conn.fileno(), server.on_pipe)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(server.shutdown())
        loop.close()


class ConsoleServer:
    """Serves one session's console until the session closes the pipe."""

    def __init__(self, conn, info: dict, host: str = "127.0.0.1", port: int | None = None,
                 token: str | None = None) -> None:
        """``port``: None tries 8765 to 8775; 0 takes any free port. ``token``: kept across restarts."""
        self.conn = conn
        self.info = info
        self.host = host
        self.port = port
        self.token = None if is_loopback(host) else (token or secrets.token_urlsafe(16))
        self.guard = Guard(self.token, own_names(host) if self.token else (), alert=lambda m: self._tell("alert", m))
        self.certificate: Certificate | None = None   # on a network address: what it serves HTTPS with
        self.url = ""
        self.store = ConsoleStore()
        self.intake = Intake(self.store)
        self._runner: web.AppRunner | None = None
        self._tick = asyncio.Event()
        self._sockets: set[web.WebSocketResponse] = set()
        self._mirror_jpeg: bytes | None = None
        self._mirror_version = 0
        self._mirror_until = 0.0
        self._mirror_viewers = 0
        self._watch_sent = (False, 0)

    # -- life --------------------------------------------------------------------------------------
    async def bind(self) -> None:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self.guard.middleware])
        app.router.add_get("/", self._page)
        app.router.add_static("/static", STATIC, show_index=False, follow_symlinks=False)
        app.router.add_get("/api/info", self._info)
        app.router.add_get("/api/state", self._get_state)
        app.router.add_get("/api/events", self._get_events)
        app.router.add_get("/api/mirror.jpg", self._mirror)
        app.router.add_post("/api/command", self._command)
        app.router.add_get("/api/ws", self._ws)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        tls = None
        if self.token is not None:   # the token must not cross the network in the clear
            self.certificate = ensure_certificate(sorted(self.guard.names))
            tls = self.certificate.server_context()
        ports = [self.port] if self.port is not None else range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES)
        last: OSError | None = None
        for port in ports:
            site = (HttpsOnlySite(self._runner, self.host, port, context=tls, address="", token=self.token,
                                  alert=self.guard.alert) if tls else
                    web.TCPSite(self._runner, self.host, port, reuse_address=True))
            try:
                await site.start()
            except OSError as e:
                last = e
                continue
            self.port = site.port if tls else site._server.sockets[0].getsockname()[1]  # the real one, for 0
            shown = reachable(self.host)
            shown = f"[{shown}]" if ":" in shown else shown
            self.url = f"{'https' if tls else 'http'}://{shown}:{self.port}/" + (f"?token={self.token}" if self.token else "")
            if tls:
                site.address = self.url.split("?")[0]   # where plain HTTP on the port is sent
            return
        await self._runner.cleanup()
        tried = f"port {self.port}" if self.port is not None else f"ports {DEFAULT_PORT}-{DEFAULT_PORT + PORT_TRIES - 1}"
        raise RuntimeError(f"the console cannot listen on {self.host} ({tried}: {last.strerror if last else ''}); "
                           "choose another with --console-port PORT (0: any free port), or run with --no-console")

    async def shutdown(self) -> None:
        """The last state goes out, then every viewer is told the session is over."""
        self._pulse()
        await asyncio.sleep(0.3)
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"session over")
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the pipe from the session -------------------------------------------------------------------
    def on_pipe(self) -> None:
        loop = self.loop
        try:
            while self.conn.poll(0):
                for kind, item in self.conn.recv():
                    if kind == "events":
                        for result in self.store.add_events(item):
                            self.intake.answer(result["id"], result)
                    elif kind == "state":
                        self.store.set_state(item)
                    elif kind == "mirror":
                        self._mirror_jpeg = item
                        self._mirror_version += 1
                    elif kind == "taken":  # ratings and words: the frame took them for its step
                        for cid in item:
                            self.intake.answer(cid, {"id": cid, "status": "applied"})
                    elif kind == "close":
                        raise EOFError
        except (EOFError, OSError):
            loop.remove_reader(self.conn.fileno())
            loop.stop()
            return
        self._pulse()

    def _pulse(self) -> None:
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    def _tell(self, kind: str, item) -> None:
        try:
            self.conn.send((kind, item))
        except (OSError, ValueError):
            pass  # the session has gone; the pipe's end stops this process

    def _watch(self) -> None:
        """Tell the session whether anyone watches the mirror (it only grabs pictures then)."""
        wanted = (self._mirror_viewers > 0 or time.monotonic() < self._mirror_until, len(self._sockets))
        if wanted != self._watch_sent:
            self._watch_sent = wanted
            self._tell("watch", {"mirror": wanted[0], "viewers": wanted[1]})

    def state(self) -> dict:
        return {**self.store.state, "seq": self.store.seq, "viewers": len(self._sockets)}

    # -- routes --------------------------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(STATIC / "index.html")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'")
        return response

    async def _info(self, request: web.Request) -> web.Response:
        return web.Response(text=_dumps(self.info), content_type="application/json")

    async def _get_state(self, request: web.Request) -> web.Response:
        return web.Response(text=_dumps(self.state()), content_type="application/json")

    async def _get_events(self, request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            return error(400, "'since' must be a whole number (the 'next' of the last answer)")
        events, seq = self.store.events_since(since)
        return web.Response(text=_dumps({"events": events, "next": seq}), content_type="application/json")

    async def _mirror(self, request: web.Request) -> web.Response:
        self._mirror_until = time.monotonic() + MIRROR_WANTED_S
        self._watch()
        self.loop.call_later(MIRROR_WANTED_S + 0.1, self._watch)
        if self._mirror_jpeg is None:
            return web.Response(status=204)
        return web.Response(body=self._mirror_jpeg, content_type="image/jpeg")

    async def _command(self, request: web.Request) -> web.Response:
        try:
            answer = await self.apply(decode(await request.read()))
        except tuple(STATUS) as e:
            return error(STATUS[type(e)], str(e))
        if answer is None:
            return error(503, "the session has ended", ended=True)
        return web.Response(text=_dumps(answer), content_type="application/json")

    async def apply(self, body) -> dict | None:
        """Check a command, queue it once per id, and wait (briefly) for the session's answer.
        None: the session has ended. Raises ``BadCommand``, ``Conflict`` or ``TooMany``."""
        parsed = parse(body, self.info)
        if self.store.ended:
            return None
        ticket = self.intake.admit(parsed, time.monotonic())
        if ticket.send:
            self._send_down(parsed, ticket.id)
        answer = await self._wait(ticket.answer, ticket.id)
        return {**answer, "repeat": True} if ticket.repeat else answer

    def _send_down(self, parsed: Parsed, cid: str) -> None:
        if parsed.command is not None:
            self._tell("command", replace(parsed.command, id=cid))
        elif parsed.rating is not None:
            self._tell("rating", {"id": cid, "rating": parsed.rating})
        else:
            self._tell("say", {"id": cid, "text": parsed.words, "corrects": parsed.corrects})

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
            return error(400, "'since' must be a whole number")
        ws = web.WebSocketResponse(heartbeat=10.0, max_msg_size=MAX_BODY)
        await ws.prepare(request)
        self._sockets.add(ws)
        client = {"mirror": True}
        self._mirror_viewers += 1
        self._watch()
        reader = asyncio.ensure_future(self._read(ws, client))
        try:
            events, seq = self.store.events_since(seq)
            await self._send(ws, {"type": "hello", "info": self.info, "state": self.state(),
                                  "events": events, "next": seq})
            await self._feed(ws, client, seq)
        except (ConnectionError, asyncio.TimeoutError, RuntimeError):
            pass  # the client went away; nothing in the session depends on it
        finally:
            reader.cancel()
            self._sockets.discard(ws)
            self._mirror_viewers -= 1 if client["mirror"] else 0
            self._watch()
            await ws.close()
        return ws

    async def _feed(self, ws: web.WebSocketResponse, client: dict, seq: int) -> None:
        """Send what is new until the socket closes: events at once, state, the newest mirror picture."""
        loop = asyncio.get_running_loop()
        state_sent, state_at, mirror_sent = self.store.state, loop.time(), self._mirror_version
        while not ws.closed:
            tick = self._tick
            events, now_seq = self.store.events_since(seq)
            if events:
                await self._send(ws, {"type": "events", "events": events, "next": now_seq})
                seq = now_seq
            state = self.store.state
            news = state.get("seq") != state_sent.get("seq")   # the state shows new events: no waiting
            if state is not state_sent and (events or news or loop.time() - state_at >= STATE_MIN_S):
                await self._send(ws, {"type": "state", "state": self.state()})
                state_sent, state_at = state, loop.time()
            if client["mirror"] and self._mirror_version != mirror_sent and self._mirror_jpeg is not None:
                mirror_sent = self._mirror_version
                await asyncio.wait_for(ws.send_bytes(self._mirror_jpeg), SEND_TIMEOUT_S)
            try:  # a state held back by the rate limit goes out after STATE_MIN_S
                await asyncio.wait_for(tick.wait(), STATE_MIN_S if state is not state_sent else 1.0)
            except asyncio.TimeoutError:
                pass

    async def _read(self, ws: web.WebSocketResponse, client: dict) -> None:
        # Each command is answered by a task of its own: one waiting for its frame never holds up
        # the next (a panic behind a dozen notes). Each is queued, in order, before its task first waits.
        tasks: set[asyncio.Task] = set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    body = decode(msg.data)
                except BadCommand as e:
                    await self._send(ws, {"type": "error", "error": str(e)})
                    continue
                kind = body.get("type") if isinstance(body, dict) else None
                if kind == "mirror":
                    on = bool(body.get("on"))
                    if on != client["mirror"]:
                        self._mirror_viewers += 1 if on else -1
                        client["mirror"] = on
                        self._watch()
                elif kind == "command":
                    task = asyncio.ensure_future(self._ws_command(ws, {k: v for k, v in body.items() if k != "type"}))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    await asyncio.sleep(0)  # let it queue its command now, before the next message
                else:
                    await self._send(ws, {"type": "error", "error": "messages are {'type': 'command'|'mirror', ...}"})
        finally:
            for task in tasks:
                task.cancel()

    async def _ws_command(self, ws: web.WebSocketResponse, body: dict) -> None:
        try:
            answer = await self.apply(body) or {"status": "error", "code": 503, "error": "the session has ended"}
        except tuple(STATUS) as e:
            answer = {"id": body.get("id"), "status": "error", "code": STATUS[type(e)], "error": str(e)}
        try:
            await self._send(ws, {"type": "result", **answer})
        except (ConnectionError, asyncio.TimeoutError, RuntimeError):
            pass  # the viewer went away; the command stands

    @staticmethod
    async def _send(ws: web.WebSocketResponse, message: dict) -> None:
        await asyncio.wait_for(ws.send_str(_dumps(message)), SEND_TIMEOUT_S)
