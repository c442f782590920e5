"""The console's parts without a server: command checks, the hub between threads, state, mirror."""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.request

import numpy as np
import pytest
from conftest import ROOT

from vr.config import load_profile
from vr.console.commands import BadCommand, parse
from vr.console.hub import ConsoleHub
from vr.console.mirror import encode
from vr.console.state import session_info, snapshot
from vr.dialogue.bank import load_bank
from vr.sim import Command, Event, FrameInputs, Session

DT = 1 / 30


@pytest.fixture(scope="module")
def interview():
    loaded = load_profile(ROOT / "exposure_profiles" / "job_interview.yaml")
    session = Session(loaded.config, loaded.scene.config, 3)
    return loaded, session, session_info(loaded.config, session, load_bank("interview_room"), "P-0001")


@pytest.mark.parametrize("body, message", [
    ([], "JSON object"),
    ({"command": "panik"}, "'command' must be one of"),
    ({"command": "pause", "colour": 1}, "unknown field 'colour'"),
    ({"command": "pause", "id": "x" * 65}, "'id' must be"),
    ({"command": "pause", "id": "a b"}, "'id' must be"),
    ({"command": "goto_step"}, "needs a 'value'"),
    ({"command": "goto_step", "value": True}, "finite number"),
    ({"command": "set_intensity", "value": float("nan")}, "finite number"),
    ({"command": "set_intensity", "value": 3}, "from 0 to 1"),
    ({"command": "note", "text": "   "}, "needs a 'text'"),
    ({"command": "note", "text": "x" * 2001}, "at most 2000"),
    ({"command": "rating", "scale": "suds", "value": 101}, "from 0 to 100"),
    ({"command": "rating", "scale": "mood", "value": 1}, "'scale' must be"),
    ({"command": "ask_rating", "text": "joy"}, "is a scale"),
    ({"command": "say_line", "text": "interview.made_up.1"}, "one of /api/info's lines"),
    ({"command": "say_line", "text": "x", "human": "h999"}, "'human' must be"),
    ({"command": "say", "text": "a baker", "corrects": "one"}, "'corrects' must be"),
    ({"command": "say", "text": "a baker", "corrects": -1}, "'corrects' must be"),
    ({"command": "withhold_reply"}, "needs a 'value'"),
    ({"command": "withhold_reply", "value": 1.5}, "'said' number"),
])
def test_bad_commands_are_refused_with_the_reason(interview, body, message):
    with pytest.raises(BadCommand, match=message):
        parse(body, interview[2])


def test_good_commands_become_the_core_s_inputs(interview):
    info = interview[2]
    p = parse({"command": "set_intensity", "value": 0.4, "id": "c-1"}, info)
    assert p.command == Command("set_intensity", 0.4, "", "c-1", "console")
    r = parse({"command": "rating", "scale": "pain", "value": 3}, info)
    assert r.rating.scale == "pain" and r.rating.value == 3.0 and r.rating.source == "console" and r.id is None
    assert parse({"command": "say", "text": "I'm nervous"}, info).words == "I'm nervous"
    fixed = parse({"command": "say", "text": "I'm a baker", "corrects": 3}, info)
    assert fixed.words == "I'm a baker" and fixed.corrects == 3
    assert parse({"command": "withhold_reply", "value": 3}, info).command == Command("withhold_reply", 3.0, "", "", "console")
    line = info["lines"][0]["id"]
    s = parse({"command": "say_line", "text": line, "human": "h001"}, info)
    assert s.command.value == 1.0 and s.command.text == line


def test_info_names_no_one_and_offers_only_lines_within_the_cap(interview):
    loaded, session, info = interview
    assert info["pseudonym"] == "P-0001" and info["kind"] == "exposure"
    assert [s["name"] for s in info["steps"]] == [s.name for s in loaded.config.steps]
    assert info["lines"] and "say_line" in info["commands"]
    from vr.config.lines import BANDS, band_for

    cap = BANDS.index(band_for(loaded.config.safety.max_intensity))
    assert all(BANDS.index(line["band"]) <= cap for line in info["lines"])
    no_bank = session_info(loaded.config, session, None, "P-0001")
    assert no_bank["lines"] == [] and "say_line" not in no_bank["commands"]


def test_state_follows_the_session(interview):
    loaded, _, _ = interview
    s = Session(loaded.config, loaded.scene.config, 3)
    world, _ = s.step(FrameInputs(s.head, (Command("goto_step", value=3), Command("set_intensity", value=0.5))), DT)
    for _ in range(60):
        world, _ = s.step(FrameInputs(s.head), DT)
    state = snapshot(world, s, seq=7, frame=61, dialogue=False, viewers=2, ended=None)
    assert state["step"]["index"] == 3 and state["step"]["count"] == len(loaded.config.steps)
    assert state["intensity_override"] == 0.5 and state["mode"] == "running" and state["viewers"] == 2
    assert len(state["humans"]) == int(world.humans.present.sum()) > 0
    assert all(h["mood"] in ("attentive", "bored", "hostile", "friendly", "neutral") for h in state["humans"])
    import json

    json.dumps(state)  # plain JSON, nothing from numpy left


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _until(test, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = test()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_the_hub_and_its_process_answer_each_command_once_and_survive_a_crash(interview):
    """No frame loop here: the test plays it, calling take/on_events/on_frame as a frame would."""
    loaded, session, info = interview
    hub = ConsoleHub(info, session, "127.0.0.1", 0)
    try:
        world, _ = session.step(FrameInputs(session.head), DT)
        answers = []
        poster = threading.Thread(target=lambda: answers.append(_post(hub.url + "api/command",
                                                                       {"command": "pause", "id": "c-1"})))
        poster.start()
        commands = _until(lambda: hub.take()[0])
        assert [(c.name, c.id, c.source) for c in commands] == [("pause", "c-1", "console")]
        hub.on_events([Event(1.0, "clinician_command", {"command": "pause", "id": "c-1", "applied": True}),
                       Event(1.0, "sample", {}), Event(1.0, "paused", {})])
        hub.on_frame(world, 1)
        poster.join(10)
        assert answers == [{"id": "c-1", "status": "applied", "t_s": 1.0}]
        again = _post(hub.url + "api/command", {"command": "pause", "id": "c-1"})
        assert again == {**answers[0], "repeat": True} and hub.take() == ((), (), ())   # not sent twice
        hub.on_events([Event(float(i), "rating", {"scale": "suds", "value": i % 100}) for i in range(1500)])
        hub.on_events([Event(2000.0 + i, "alert", {"message": str(i)}) for i in range(1500)])
        hub.on_frame(world, 2)
        events = _until(lambda: (e := _get(hub.url + "api/events?since=0")) and e["next"] == 3002 and e)["events"]
        assert sum(e["kind"] == "rating" for e in events) == 1500      # every rating (and command)
        assert 0 < sum(e["kind"] == "alert" for e in events) < 1500     # the rest: the latest only
        assert "sample" not in {e["kind"] for e in events}
        assert _get(hub.url + "api/state")["seq"] == 3002
        # The console's process dies: it comes back on the same address, with what it had.
        hub._proc.kill()
        hub._proc.join(5)
        hub.on_events([Event(3000.0, "alert", {"message": "after"})])
        _until(lambda: hub.alerts)
        assert "started again" in hub.alerts[0]
        after = _until(lambda: _get(hub.url + "api/events?since=0"))
        assert sum(e["kind"] == "rating" for e in after["events"]) == 1500
        assert after["events"][-1]["data"] == {"message": "after"}
        assert _post(hub.url + "api/command", {"command": "pause", "id": "c-1"})["repeat"]
    finally:
        hub.close()
    assert not hub._proc.is_alive()


def test_mirror_pictures_are_small_upright_jpegs():
    from PIL import Image

    w, h = 640, 360
    pixels = np.zeros((h, w, 3), np.uint8)
    pixels[:h // 2] = (255, 0, 0)          # top half red, as the picture should show it
    raw_bottom_up = (w, h, pixels[::-1].tobytes(), "RGB", True)   # Panda3D's rows run bottom-up
    image = Image.open(io.BytesIO(encode(raw_bottom_up)))
    assert image.format == "JPEG" and image.size == (320, 180)
    top, bottom = image.getpixel((160, 10)), image.getpixel((160, 170))
    assert top[0] > 200 and top[1] < 60 and bottom[0] < 60


def test_the_mirror_is_drawn_small_at_the_eye_only_when_asked_upright_and_without_the_panel():
    from panda3d.core import CardMaker
    from PIL import Image

    from vr.backends.panda import start_showbase
    from vr.render.mirror import MirrorCamera

    base = start_showbase("offscreen", (640, 360), "tests")
    try:
        base.win.setClearColor((1, 0, 0, 1))
        sky = CardMaker("upper-half")
        sky.setFrame(-50, 50, 0, 50)
        card = base.render.attachNewNode(sky.generate())   # above the eye's horizon, 5 m ahead: blue
        card.setPos(0, 5, 0)
        card.setColor(0, 0, 1, 1)
        card.setLightOff(1)
        card.setTwoSided(True)
        panel = CardMaker("clinician-panel")
        panel.setFrame(-1, 1, -1, 0)
        base.render2d.attachNewNode(panel.generate()).setColor(0, 1, 0, 1)   # the window's panel: not the patient's view
        mirror = MirrorCamera(base)
        base.graphicsEngine.renderFrame()
        assert mirror.collect() is None and not mirror.buffer.isActive()   # nothing asked, nothing drawn
        mirror.request()
        base.graphicsEngine.renderFrame()
        raw = mirror.collect()
        assert raw[:2] == (320, 180) and len(raw[2]) == 320 * 180 * 3       # only the small picture is read
        assert not mirror.buffer.isActive()
        image = Image.open(io.BytesIO(encode(raw)))
        upper, lower = image.getpixel((160, 30)), image.getpixel((160, 150))
        assert upper[2] > 200 and upper[0] < 60, upper
        assert lower[0] > 200 and lower[1] < 60, lower      # red sky, no green panel
        # A second picture shows the scene as it is then (the safe scene's sky, say), from where the eye is.
        base.win.setClearColor((0, 1, 0, 1))
        base.cam.setP(-60)   # looking down: below the card
        mirror.request()
        base.graphicsEngine.renderFrame()
        upper = Image.open(io.BytesIO(encode(mirror.collect()))).getpixel((160, 30))
        assert upper[1] > 200 and upper[2] < 60, upper
    finally:
        base.destroy()
