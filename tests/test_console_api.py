"""The console's HTTP and WebSocket API against a real ``vr run`` (offscreen, in a child process)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import aiohttp
import pytest
from conftest import ROOT
from console_run import ConsoleRun


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    r = ConsoleRun(tmp_path_factory.mktemp("console") / "rec", "--no-dialogue", "--pseudonym", "P-4242")
    yield r
    r.stop()


def test_state_info_and_commands_that_apply_once(run):
    info = run.get("api/info")
    assert info["kind"] == "exposure" and info["pseudonym"] == "P-4242" and len(info["steps"]) == 7
    assert "say_line" not in info["commands"] and info["lines"] == []   # --no-dialogue: no bank
    state = run.state()
    assert state["mode"] == "running" and state["step"]["count"] == 7
    start = state["step"]["index"]
    first = run.command(command="step_up", id="t-up-1")
    again = run.command(command="step_up", id="t-up-1")                # a retried click
    assert first["status"] == "applied" and again == {**first, "repeat": True}
    run.wait_for(lambda s: s["step"]["index"] == start + 1)
    refused = run.command(command="goto_step", value=99, id="t-goto")
    assert refused["status"] == "refused" and "step index" in refused["reason"]
    note = run.command(command="note", text="patient asked for water", id="t-note")
    assert note["status"] == "applied"
    assert run.command(command="rating", scale="suds", value=45, id="t-suds")["status"] == "applied"
    run.wait_for(lambda s: s["ratings"]["suds"] == 45)
    events = run.get("api/events?since=0")["events"]
    mine = [e for e in events if e["kind"] == "clinician_command" and e["data"]["id"].startswith("t-")]
    assert [e["data"]["id"] for e in mine] == ["t-up-1", "t-goto", "t-note"]      # t-up-1 once
    assert all(e["data"]["source"] == "console" for e in mine)
    rating = [e for e in events if e["kind"] == "rating"][-1]
    assert rating["data"] == {"scale": "suds", "value": 45.0, "source": "console"}
    status, _ = run.request("GET", "api/mirror.jpg")   # asking for the mirror starts the pictures
    deadline = time.monotonic() + 10
    while status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        status, body = run.request("GET", "api/mirror.jpg")
    assert status == 200 and body[:2] == b"\xff\xd8"


BAD = [
    ("POST", "api/command", b"{not json", {"Content-Type": "application/json"}, 400),
    ("POST", "api/command", b'{"command": "pause"}', {"Content-Type": "text/plain"}, 415),
    ("POST", "api/command", b'{"command": "launch_missiles"}', {"Content-Type": "application/json"}, 400),
    ("POST", "api/command", b'{"command": "pause", "id": "../../etc"}', {"Content-Type": "application/json"}, 400),
    ("POST", "api/command", b'{"command": "set_intensity", "value": "max"}', {"Content-Type": "application/json"}, 400),
    ("POST", "api/command", b'{"command": "note", "text": "' + b"x" * 20000 + b'"}',
     {"Content-Type": "application/json"}, 413),
    ("POST", "api/command", b'{"command": "panic"}', {"Content-Type": "application/json",
                                                       "Origin": "http://evil.example"}, 403),
    ("POST", "api/command", b'{"command": "panic"}', {"Content-Type": "application/json",
                                                       "Host": "evil.example"}, 403),
    ("GET", "api/events?since=yesterday", None, {}, 400),
    ("GET", "api/../../etc/passwd", None, {}, 404),
    ("GET", "static/../server.py", None, {}, 404),
]


def test_bad_requests_get_4xx_and_leave_the_session_alone(run):
    for method, path, body, headers, status in BAD:
        got, answer = run.request(method, path, body, headers)
        assert got == status, (path, headers, answer[:200])
        if status != 404:
            assert "error" in json.loads(answer)
    before = run.state()
    # A flood from a separate process, while the frame loop renders.
    flood = subprocess.Popen([sys.executable, "-c", FLOOD, run.base, "6"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    frames = []
    while flood.poll() is None:
        frames.append((time.monotonic(), run.state()["frame"]))
        time.sleep(0.25)
    sent = int(flood.stdout.read().strip())
    after = run.state()
    assert sent > 300, "the flood was too small to mean anything"
    rate = (frames[-1][1] - frames[0][1]) / (frames[-1][0] - frames[0][0])
    assert rate > 10, f"the frame loop slowed down under the flood ({rate:.1f} frames/s)"
    gaps = [b[1] - a[1] for a, b in zip(frames, frames[1:])]
    assert min(gaps) > 0, "a quarter second without a frame"
    assert after["mode"] == before["mode"] == "running" and after["step"] == {**before["step"], "t_s": after["step"]["t_s"]}
    stats = [e for e in run.events() if e["kind"] == "frame_stats" and e["t_s"] > 2.0]
    assert stats and max(max(e["cpu_ms"]) for e in stats) < 250.0, "a frame held up for a quarter second"
    commands = [e for e in run.events() if e["kind"] == "clinician_command"]
    assert not [c for c in commands if c["command"] in ("panic", "launch_missiles", "pause")]


FLOOD = """
import sys, threading, time, urllib.request, urllib.error
base, seconds = sys.argv[1], float(sys.argv[2])
bodies = [(b"{bad", "application/json"), (b'{"command": "panic"}', "text/plain"), (b'{"command": "nope"}', "application/json"),
          (b"x" * 30000, "application/json"), (b'{"command": "pause", "id": 5}', "application/json")]
count = [0]
def worker():
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        body, kind = bodies[i % len(bodies)]
        i += 1
        try:
            urllib.request.urlopen(urllib.request.Request(base + "api/command", data=body, method="POST",
                                                          headers={"Content-Type": kind}), timeout=5)
        except urllib.error.HTTPError as e:
            assert 400 <= e.code < 500, e.code
        except OSError:
            pass
        count[0] += 1
threads = [threading.Thread(target=worker) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print(count[0])
"""


def test_websocket_hello_live_updates_commands_and_catching_up(run):
    async def go():
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(run.base + "api/ws") as ws:
                hello = await ws.receive_json(timeout=10)
                assert hello["type"] == "hello" and hello["info"]["pseudonym"] == "P-4242"
                seq = hello["next"]
                await ws.send_json({"type": "command", "command": "pause", "id": "ws-pause"})
                await ws.send_str("not json at all")
                seen = {"result": None, "paused": False, "error": False, "jpeg": False}
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and not all(seen.values()):
                    msg = await ws.receive(timeout=5)
                    if msg.type == aiohttp.WSMsgType.BINARY:
                        seen["jpeg"] = msg.data[:2] == b"\xff\xd8"
                        continue
                    data = json.loads(msg.data)
                    if data["type"] == "result":
                        seen["result"] = data
                    elif data["type"] == "error":
                        seen["error"] = True
                    elif data["type"] == "events":
                        seq = data["next"]
                        seen["paused"] |= any(e["kind"] == "paused" for e in data["events"])
                assert seen["result"]["status"] == "applied" and seen["paused"] and seen["error"] and seen["jpeg"]
            run.command(command="resume", id="ws-resume")
            # Reconnecting with ?since= brings exactly what was missed.
            async with http.ws_connect(run.base + f"api/ws?since={seq}") as ws:
                hello = await ws.receive_json(timeout=10)
                kinds = [e["kind"] for e in hello["events"]]
                assert "resumed" in kinds and "paused" not in kinds
                assert all(e["seq"] > seq for e in hello["events"])
    asyncio.run(go())


def test_a_viewer_that_vanishes_changes_nothing(run):
    """Many viewers at once, one of which stops reading and then disappears without closing."""
    async def go():
        async with aiohttp.ClientSession() as http:
            viewers = [await http.ws_connect(run.base + "api/ws") for _ in range(5)]
            for ws in viewers:
                assert (await ws.receive_json(timeout=10))["type"] == "hello"
            await asyncio.sleep(0.5)
            assert run.state()["viewers"] >= 5
            viewers[0]._response.connection.transport.abort()   # the network went away, no goodbye
            answer = run.command(command="step_down", id="vanish-1")
            assert answer["status"] in ("applied", "refused")
            for ws in viewers[1:]:
                await ws.close()
    asyncio.run(go())
    state = run.wait_for(lambda s: s["viewers"] == 0, 30)
    assert state["mode"] == "running"


def test_the_record_is_intact_after_all_that(run):
    run.stop()
    assert run.proc.returncode == 0
    check = subprocess.run([sys.executable, "-m", "vr", "verify", str(run.out)], cwd=ROOT, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    replay = subprocess.run([sys.executable, "-m", "vr", "replay", "--verify", str(run.out)], cwd=ROOT,
                            capture_output=True, text=True)
    assert replay.returncode == 0, replay.stdout + replay.stderr
