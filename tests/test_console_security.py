"""The console's defences against a real ``vr run``: urgent commands through a flood, command ids,
strict JSON, the Host check and the token on a network address (and the same checks as units)."""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
from urllib.parse import urlsplit

import aiohttp
import pytest
from conftest import ROOT
from console_run import ConsoleRun

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    r = ConsoleRun(tmp_path_factory.mktemp("local") / "rec", "--no-dialogue")
    yield r
    r.stop()


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    r = ConsoleRun(tmp_path_factory.mktemp("network") / "rec", "--no-dialogue", host="0.0.0.0")
    yield r
    r.stop()


def raw(run: ConsoleRun, method: str, path: str, headers: dict | None = None,
        body: bytes | None = None) -> tuple[int, dict, bytes]:
    """One request exactly as given (no redirects followed, no headers added but ``Host``)."""
    where = urlsplit(run.base)
    conn = (http.client.HTTPSConnection(where.hostname, where.port, timeout=10, context=run.context)
            if run.context else http.client.HTTPConnection(where.hostname, where.port, timeout=10))
    try:
        headers = {"Host": where.netloc, **(headers or {})}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def post(run: ConsoleRun, body: bytes) -> tuple[int, dict]:
    status, answer = run.request("POST", "api/command", body, JSON)
    return status, json.loads(answer)


async def ws_first(run: ConsoleRun, path: str, headers: dict, send: list[str] = ()) -> list:
    """Open the WebSocket; the hello's type (or the refusal's status), then the answers to ``send``."""
    async with aiohttp.ClientSession() as http_:
        try:
            async with http_.ws_connect(run.base + path, headers=headers, ssl=run.context or True) as sock:
                got = [(await sock.receive_json(timeout=10))["type"]]
                for text in send:
                    await sock.send_str(text)
                    while True:
                        msg = await sock.receive_json(timeout=10)
                        if msg["type"] in ("result", "error"):
                            got.append(msg)
                            break
                return got
        except aiohttp.WSServerHandshakeError as e:
            return [e.status]


# -- a reused id, duplicate keys ---------------------------------------------------------------------

def test_a_reused_id_with_another_command_is_a_conflict_naming_the_id(local):
    assert local.command(command="note", text="first", id="reused-1")["status"] == "applied"
    status, answer = post(local, b'{"command": "panic", "id": "reused-1"}')
    assert status == 409 and "reused-1" in answer["error"] and "new id" in answer["error"]
    status, answer = post(local, b'{"command": "note", "text": "other words", "id": "reused-1"}')
    assert status == 409
    again = local.command(command="note", text="first", id="reused-1")      # the same command: a retry
    assert again["status"] == "applied" and again["repeat"] is True
    got = asyncio.run(ws_first(local, "api/ws", {}, [json.dumps({"type": "command", "command": "pause",
                                                                 "id": "reused-1"})]))
    assert got[1]["status"] == "error" and got[1]["code"] == 409 and "reused-1" in got[1]["error"]
    assert local.state()["mode"] == "running"


def test_duplicate_keys_in_a_body_are_refused_naming_the_key(local):
    status, answer = post(local, b'{"command": "note", "id": "dup-keys", "command": "panic"}')
    assert status == 400 and "'command'" in answer["error"] and "twice" in answer["error"]
    status, answer = post(local, b'{"command": "note", "text": "a", "text": "b"}')
    assert status == 400 and "'text'" in answer["error"]
    got = asyncio.run(ws_first(local, "api/ws", {}, ['{"type": "command", "command": "pause", "command": "panic"}']))
    assert got[1]["type"] == "error" and "'command'" in got[1]["error"]
    assert local.state()["mode"] == "running"
    assert not [e for e in local.events() if e["kind"] == "clinician_command" and e["command"] in ("panic", "pause")]


# -- panic, stop and pause through a flood -------------------------------------------------------------

FLOOD = """
import json, sys, threading, time, urllib.request, urllib.error
base, seconds = sys.argv[1], float(sys.argv[2])
counts = {"sent": 0, "limited": 0}
told = threading.Event()
def worker(n):
    end, i = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        i += 1
        body = json.dumps({"command": "goto_step", "value": 99, "id": f"flood-{n}-{i}"}).encode()
        try:
            urllib.request.urlopen(urllib.request.Request(base + "api/command", data=body, method="POST",
                                   headers={"Content-Type": "application/json"}), timeout=5).read()
        except urllib.error.HTTPError as e:
            if e.code == 429:
                counts["limited"] += 1
                if not told.is_set():
                    told.set()
                    print("limited", flush=True)
        except OSError:
            pass
        counts["sent"] += 1
threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps(counts), flush=True)
"""


def test_panic_stop_and_pause_are_never_limited_by_a_flood(local):
    """A flood of valid commands fills the rate limit; pause, panic and stop still apply at once."""
    flood = subprocess.Popen([sys.executable, "-c", FLOOD, local.base, "20"], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert flood.stdout.readline().strip() == "limited", "the flood never reached the rate limit"
        for name in ("pause", "panic"):
            answer = local.command(command=name, id=f"through-{name}")
            assert answer["status"] == "applied", answer
        local.wait_for(lambda s: s["mode"] == "safe")
        # Another viewer's panic at the same time: applied (or joined) once, never refused.
        answers = [local.command(command="panic", id=f"through-panic-{i}") for i in range(3)]
        assert all(a["status"] in ("applied", "refused") for a in answers), answers
        assert flood.poll() is None, "the flood ended before the commands were answered"
        stop = local.command(command="stop", id="through-stop")
        assert stop["status"] == "applied"
    finally:
        flood.kill()
        flood.wait()
    output = local.stop()
    assert local.proc.returncode == 0, output
    commands = [e for e in local.events() if e["kind"] == "clinician_command"]
    urgent = [(e["id"], e["applied"]) for e in commands if e["id"].startswith("through-")]
    assert urgent[:2] == [("through-pause", True), ("through-panic", True)] and urgent[-1] == ("through-stop", True)
    assert len([e for e in commands if e["id"] == "through-panic"]) == 1
    assert any(e["id"].startswith("flood-") for e in commands)


# -- a network address: the Host check, the token in the address ----------------------------------------

def test_a_network_address_needs_the_token(network):
    assert network.token and len(network.token) >= 20
    for path in ("", "api/state", "api/info", "static/console.js"):
        assert network.request("GET", path, token=False)[0] == 401
    assert network.request("GET", "api/state", headers={"Authorization": "Bearer wrong"}, token=False)[0] == 401
    status, _ = network.request("POST", "api/command", b'{"command": "panic"}', JSON, token=False)
    assert status == 401 and network.state()["mode"] == "running"
    assert network.request("GET", "api/state")[0] == 200                 # Bearer
    assert asyncio.run(ws_first(network, "api/ws", {})) == [401]


def test_a_network_address_checks_the_host_even_with_the_token(network):
    bearer = {"Authorization": f"Bearer {network.token}"}
    port = urlsplit(network.base).port
    for host in ("evil.example", f"evil.example:{port}", f"{network.token}.example:{port}", ""):
        status, _, body = raw(network, "GET", "/api/state", {**bearer, "Host": host})
        assert status == 403, (host, body)
        assert "Host" in json.loads(body)["error"]
    status, _, body = raw(network, "POST", "/api/command", {**bearer, **JSON, "Host": "evil.example"},
                          b'{"command": "panic"}')
    assert status == 403 and network.state()["mode"] == "running"
    for host in (urlsplit(network.base).netloc, f"127.0.0.1:{port}", f"localhost:{port}"):
        assert raw(network, "GET", "/api/state", {**bearer, "Host": host})[0] == 200, host


def test_the_token_in_the_address_only_opens_the_page(network):
    token = network.token
    # On the API and the WebSocket the address's token is no way in.
    status, _, body = raw(network, "GET", f"/api/state?token={token}")
    assert status == 401 and "Bearer" in json.loads(body)["error"]
    status, _, _ = raw(network, "POST", f"/api/command?token={token}", JSON, b'{"command": "panic"}')
    assert status == 401 and network.state()["mode"] == "running"
    assert asyncio.run(ws_first(network, f"api/ws?token={token}", {})) == [401]
    assert raw(network, "GET", "/?token=wrong")[0] == 401
    # The page's first load: a cookie for this server, and the address without the token.
    status, headers, _ = raw(network, "GET", f"/?token={token}")
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and token in cookie
    jar = {"Cookie": cookie.split(";")[0]}
    status, _, page = raw(network, "GET", "/", jar)
    assert status == 200 and b"<html" in page.lower()
    assert raw(network, "GET", "/api/state", jar)[0] == 200
    assert raw(network, "GET", "/static/console.js", jar)[0] == 200
    assert raw(network, "GET", "/")[0] == 401
    assert asyncio.run(ws_first(network, "api/ws", jar)) == ["hello"]
    assert asyncio.run(ws_first(network, "api/ws", {"Authorization": f"Bearer {token}"})) == ["hello"]


def test_the_token_is_printed_once_and_never_written_down(network):
    output = network.stop()
    record = b"".join(p.read_bytes() for p in network.out.rglob("*") if p.is_file())
    assert network.token.encode() not in record
    assert output.count(network.token) == 1


# -- the same checks as units --------------------------------------------------------------------------

def test_host_names_a_console_answers_to():
    from vr.console.guard import Guard

    loopback = Guard(None)
    assert all(loopback.host_ok(h, "127.0.0.1") for h in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765",
                                                         "LOCALHOST", "127.0.0.1"))
    assert not any(loopback.host_ok(h, "127.0.0.1") for h in ("evil.example:8765", "192.168.1.20:8765", "", ":8765",
                                                             "[::1", "127.0.0.1.evil.example"))
    lan = Guard("t0ken", names={"192.168.1.20", "Clinic-PC"})
    assert all(lan.host_ok(h, "192.168.1.20") for h in ("192.168.1.20:8765", "clinic-pc:8765", "localhost:8765",
                                                       "127.0.0.1:8765"))
    assert lan.host_ok("10.0.0.5:8765", "10.0.0.5")                   # the address it was reached on (0.0.0.0)
    assert lan.host_ok("10.0.0.5:8765", "::ffff:10.0.0.5")            # ... on a dual-stack socket
    assert not lan.host_ok("10.0.0.5:8765", "192.168.1.20")
    assert not any(lan.host_ok(h, "192.168.1.20") for h in ("evil.example:8765", "clinic-pc.evil.example", "",
                                                           "192.168.1.20.nip.io:8765"))


def test_a_body_with_a_key_twice_is_not_a_command():
    from vr.console.commands import BadCommand, decode

    assert decode(b'{"command": "pause", "id": "c-1"}') == {"command": "pause", "id": "c-1"}
    with pytest.raises(BadCommand, match="'command' appears twice"):
        decode(b'{"command": "pause", "command": "panic"}')
    with pytest.raises(BadCommand, match="'a' appears twice"):
        decode(b'{"command": "note", "extra": {"a": 1, "a": 2}}')
    with pytest.raises(BadCommand, match="not JSON"):
        decode(b"{nope")
    with pytest.raises(BadCommand, match="not JSON"):
        decode(b"\xff\xfe")


def test_the_intake_limits_others_never_the_urgent_and_joins_a_flood_of_them():
    from vr.console.commands import Parsed
    from vr.console.intake import Conflict, Intake, TooMany
    from vr.console.store import ConsoleStore
    from vr.sim import Command

    def cmd(name: str, cid: str, text: str = "") -> Parsed:
        return Parsed(cid, command=Command(name, None, text, cid, "console"))

    async def go():
        intake = Intake(ConsoleStore(), max_per_s=3)
        assert all(intake.admit(cmd("note", f"n{i}", "x"), 10.0).send for i in range(3))
        with pytest.raises(TooMany, match="never limited"):
            intake.admit(cmd("note", "n3", "x"), 10.5)
        first = intake.admit(cmd("pause", "p1"), 10.5)                  # over the limit: still goes
        joined = intake.admit(cmd("pause", "p2"), 10.5)                 # the same, on its way: joins it
        panic = intake.admit(cmd("panic", "x1"), 10.5)
        assert first.send and not joined.send and panic.send
        intake.answer("p1", {"id": "p1", "status": "applied", "t_s": 4.0})
        assert await joined.answer == {"id": "p2", "status": "applied", "t_s": 4.0, "joined": "p1"}
        assert intake.admit(cmd("pause", "p3"), 10.6).send               # p1 was answered: sent itself
        assert intake.admit(cmd("note", "n4", "x"), 12.0).send           # a second later: room again
        assert intake.admit(cmd("pause", "p4"), 12.0).send               # a command in between: not joined
        retry = intake.admit(cmd("pause", "p1"), 12.0)
        assert retry.repeat and not retry.send and (await retry.answer)["status"] == "applied"
        with pytest.raises(Conflict, match="'p1' was already used for another command \\(pause\\)"):
            intake.admit(cmd("stop", "p1"), 12.0)
        # After the console's process started again: what the record says of an id.
        store = ConsoleStore()
        store.add_events([{"seq": 1, "t_s": 1.0, "kind": "clinician_command",
                           "data": {"command": "note", "id": "old", "text": "hi", "applied": True}}])
        again = Intake(store)
        assert (await again.admit(cmd("note", "old", "hi"), 0.0).answer)["status"] == "applied"
        with pytest.raises(Conflict):
            again.admit(cmd("note", "old", "bye"), 0.0)
    asyncio.run(go())
