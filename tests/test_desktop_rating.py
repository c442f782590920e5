"""The patient answers a rating prompt with the mouse in the desktop preview: the centre of the
view (the head ray, since mouse-look turns the head) points at a number and a click records it.

The first tests drive ``DesktopControls`` with a stand-in ShowBase (real scene-graph nodes, no
window), a real session (whose rating panel decides the answer) and the real panel view; the last
opens the preview in a real window on a virtual display (Xvfb) and clicks.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT, wait_for_event

from vr.sim.procedure import new_session
from vr.app.inputs import MOUSE_DEG_PER_PX, DesktopControls
from vr.sim.rating_panel import DWELL_S, PANEL_WIDTH_M, head_ray
from vr.config import load_profile
from vr.record import read_record
from vr.sim import Command, FrameInputs, HeadPose, WorldState
from vr.sim.distraction import DistractionSession
from vr.sim.types import Pointer, RatingPanelState

pytest.importorskip("panda3d")

DT = 1 / 60


class StandInBase:
    """What ``DesktopControls`` uses of a ShowBase: scene-graph roots and ``accept``; no window."""

    def __init__(self) -> None:
        from panda3d.core import NodePath

        self.render = NodePath("render")
        self.aspect2d = NodePath("aspect2d")
        self.win = None
        self.mouseWatcherNode = None
        self.handlers: dict[str, tuple] = {}

    def accept(self, event: str, method, extra=()) -> None:
        self.handlers[event] = (method, list(extra))

    def press(self, event: str) -> None:
        method, extra = self.handlers[event]
        method(*extra)


def towards(panel: RatingPanelState, head: HeadPose, tick: int, session) -> HeadPose:
    """``head`` turned so that the centre of the view meets ``tick`` on the panel now shown."""
    ticks = panel.ticks
    u = 0.05 + 0.9 * (ticks.index(tick) + 0.5) / len(ticks)
    yaw = math.radians(panel.yaw_deg)
    x, y, _ = panel.center_m
    target = (x + (u - 0.5) * PANEL_WIDTH_M * math.cos(yaw), y + (u - 0.5) * PANEL_WIDTH_M * math.sin(yaw),
              panel.center_m[2] - 0.04)   # the row of numbers sits a little below the panel's middle
    d = [t - o for t, o in zip(target, head.position_m)]
    yaw_deg = math.degrees(math.atan2(-d[0], d[1]))
    pitch_deg = math.degrees(math.atan2(d[2], math.hypot(d[0], d[1])))
    turned = HeadPose(head.position_m, yaw_deg, pitch_deg)
    assert session.panel.input.tick_at(Pointer(*head_ray(turned))) == tick
    return turned


class Alerts:
    """What the heads-up panel was told to show."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    def show_alert(self, text: str, seconds: float) -> None:
        self.shown.append(text)


class Preview:
    """The desktop's frame without a window: poll the controls, step the session, draw the panel."""

    def __init__(self, session, distraction: bool = False, writer=None) -> None:
        """``writer``: a ``SessionWriter`` that takes every step's inputs and events, as the frame loop's does."""
        from vr.render.rating_panel import RatingPanelView

        self.base = StandInBase()
        self.session = session
        self.writer = writer
        self.hud = Alerts()
        self.controls = DesktopControls(self.base, session.head, distraction=distraction)
        self.view = RatingPanelView(self.base.render, RatingPanelView.DESKTOP_HINT, self.base.aspect2d, self.hud)
        self.world: WorldState | None = None
        self.events: list = []
        self.frame()

    def frame(self, *commands: Command) -> FrameInputs:
        inputs = self.controls.poll(self.world, DT).plus(commands=commands)
        self.world, events = self.session.step(inputs, DT)
        if self.writer is not None:
            self.writer.write_inputs(inputs, DT)
            self.writer.write(events)
        self.events += events
        self.view.apply(self.world, DT)
        return inputs

    def ratings(self) -> list[tuple]:
        return [(e.data["scale"], e.data["value"], e.data["source"]) for e in self.events if e.kind == "rating"]

    @property
    def panel_shown(self) -> bool:
        return not self.view.root.isHidden()

    @property
    def reticle_shown(self) -> bool:
        return not self.view.reticle.isHidden()


def exposure_session():
    loaded = load_profile(ROOT / "exposure_profiles" / "public_speaking.yaml")
    return new_session(loaded, 3)


def test_a_click_records_the_number_at_the_centre_and_the_reticle_shows_while_asked():
    p = Preview(exposure_session())
    assert not p.panel_shown and not p.reticle_shown
    p.frame(Command("ask_rating", text="suds"))   # the world asks; the next poll points at the panel
    inputs = p.frame()
    assert inputs.gaze is not None and inputs.gaze.source == "desktop_gaze" and inputs.hands == ()
    assert p.world.rating_panel.open and p.panel_shown and p.reticle_shown
    p.controls.head = towards(p.world.rating_panel, p.controls.head, 70, p.session)
    p.frame()
    assert p.ratings() == [] and p.world.rating_panel.hover == 70   # looking is not answering (the dwell has begun)
    p.base.press("mouse1")
    inputs = p.frame()
    assert [h.source for h in inputs.hands] == ["mouse"] and inputs.ratings == ()   # raw pointing, no rating
    assert p.ratings() == [("suds", 70.0, "mouse")]   # the session decided it
    assert p.world.rating_prompt is None and not p.world.rating_panel.open
    assert not p.panel_shown and not p.reticle_shown
    # With no prompt a click does nothing in an exposure session, and nothing points.
    p.base.press("mouse1")
    inputs = p.frame()
    assert inputs.ratings == () and inputs.commands == () and inputs.gaze is None and inputs.hands == ()
    assert p.ratings() == [("suds", 70.0, "mouse")]
    p.view.destroy()
    assert p.base.render.find("**/rating-panel").isEmpty() and p.base.aspect2d.find("**/rating-reticle").isEmpty()


def test_a_click_off_the_numbers_records_nothing_and_keys_still_rate():
    p = Preview(exposure_session())
    p.frame(Command("ask_rating", text="suds"))
    p.frame()
    p.controls.head = HeadPose(p.controls.head.position_m, p.controls.head.yaw_deg + 60.0)  # away from the panel
    p.base.press("mouse1")
    p.frame()
    assert p.ratings() == [] and p.world.rating_panel.open and p.world.rating_panel.missed_clicks == 1
    assert p.hud.shown == ["Put the centre of the view on a number, then click"]
    p.base.press("4")  # the clinician's key answers as before, and the panel goes in the same step
    p.base.press("mouse1")  # a click in the same frame was meant for the panel: it answers nothing
    p.frame()
    assert p.ratings() == [("suds", 40.0, "keyboard")]
    assert not p.world.rating_panel.open and not p.panel_shown
    p.frame()
    assert p.ratings() == [("suds", 40.0, "keyboard")]


def test_a_still_mouse_answers_nothing_and_a_steady_look_answers_by_itself():
    p = Preview(exposure_session())
    p.frame(Command("ask_rating", text="suds"))
    frames = int(2 * DWELL_S / DT)
    # The panel opens centred under the view: reading the question without moving answers nothing.
    for _ in range(frames):
        p.frame()
    assert p.ratings() == [] and p.world.rating_panel.open and p.world.rating_panel.dwell == 0.0
    p.controls.head = towards(p.world.rating_panel, p.controls.head, 30, p.session)
    for _ in range(frames):
        p.frame()
    assert p.ratings() == [("suds", 30.0, "desktop_gaze")]


def test_distraction_a_click_answers_while_asked_and_throws_otherwise():
    loaded = load_profile(ROOT / "exposure_profiles" / "needle_reef.yaml")
    p = Preview(DistractionSession(loaded.config, loaded.scene.config, 5), distraction=True)
    for _ in range(30):   # somewhere along the glide
        p.frame()
    p.frame(Command("ask_rating", text="pain"))
    p.frame()
    panel, game = p.world.rating_panel, p.world.game
    assert panel.open and p.panel_shown
    assert not p.reticle_shown  # the game draws its own reticle at the centre of the view
    # The panel is placed in the seat's frame and rides with the glide.
    cx, cy, cz = panel.center_m
    r = math.radians(game.rig_yaw_deg)
    gx, gy, _ = game.rig_position_m
    want = (gx + math.cos(r) * cx - math.sin(r) * cy, gy + math.sin(r) * cx + math.cos(r) * cy, cz)
    assert tuple(p.view.root.getPos(p.base.render)) == pytest.approx(want, abs=1e-4)
    p.controls.head = towards(panel, p.controls.head, 7, p.session)
    p.base.press("mouse1")
    inputs = p.frame()
    assert p.ratings()[-1] == ("pain", 7.0, "mouse")
    assert [c.name for c in inputs.commands] == []  # the click went to the rating, not to a throw
    p.base.press("mouse1")
    inputs = p.frame()
    assert inputs.ratings == () and inputs.commands == (Command("fire", source="mouse"),)


def test_a_rating_given_on_the_panel_replays_from_the_record(tmp_path):
    """The pointing is recorded with the inputs, so a replay reaches the same answer at the same step."""
    from vr.app.summary import record_files, record_meta
    from vr.record import SessionWriter
    from vr.record.replay import verify_replay

    loaded = load_profile(ROOT / "exposure_profiles" / "public_speaking.yaml")
    out = tmp_path / "rec"
    writer = SessionWriter(out, record_meta(loaded, pseudonym="T-40", backend="test", seed=3),
                           attachments=record_files(loaded))
    session = new_session(loaded, 3)
    p = Preview(session, writer=writer)
    p.frame(Command("ask_rating", text="suds"))
    p.frame()
    p.controls.head = towards(p.world.rating_panel, p.controls.head, 60, session)
    for _ in range(int(DWELL_S / DT) + 5):
        p.frame()
    assert p.ratings() == [("suds", 60.0, "desktop_gaze")]
    final = session.end("stopped_by_clinician")
    writer.write(final)
    writer.close(events=0, ended="stopped_by_clinician", session_s=session.t_s, frames=0)
    lines = (out / "inputs.jsonl").read_text().splitlines()
    assert sum('"g":' in line for line in lines) >= int(DWELL_S / DT)   # the gaze travelled with each step
    verdict = verify_replay(out)
    assert verdict.same, verdict.message
    rating = next(e for e in read_record(out).of_kind("rating"))
    assert (rating["value"], rating["source"]) == (60.0, "desktop_gaze")


# -- a real window -----------------------------------------------------------------------------------

LAUNCH = textwrap.dedent("""
    import sys
    from pathlib import Path

    from vr.app.run import run_rendered
    from vr.config import load_profile
    from vr.sim import Command

    def on_loop(loop):
        # The clinician's request (from the console in a clinic); F9 here, so the test picks the moment.
        loop.base.accept("f9", lambda: loop.submit(Command("ask_rating", text="suds", source="test")))

    loaded = load_profile(Path(sys.argv[1]))
    run_rendered(loaded, backend_kind="desktop", seconds=600.0, seed=1, out=Path(sys.argv[2]),
                 pseudonym="P-0001", size=(640, 360), dialogue=False, on_loop=on_loop)
""")


@pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")),
                    reason="Xvfb and xdotool are needed (scripts/setup.sh installs them)")
def test_the_patient_clicks_a_rating_in_the_preview_window(display, tmp_path):
    from test_preview_window import find_window, xdo

    out = tmp_path / "session"
    env = {**os.environ, "DISPLAY": display, "ALSOFT_DRIVERS": "null"}
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, str(ROOT / "exposure_profiles" / "public_speaking.yaml"),
                             str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        window = find_window(display, "vr - ")
        assert window, "the preview window appeared"
        xdo(display, "windowactivate", "--sync", window)
        assert wait_for_event(out, "frame_stats"), "the session is running"   # so it sees every move of the mouse
        cx, cy = 320, 180   # the pointer is put back here every frame: its offset turns the head

        def look(dx: int, dy: int, wait: float = 0.4) -> None:
            xdo(display, "mousemove", "--window", window, str(cx + dx), str(cy + dy))
            time.sleep(wait)

        look(0, 0)         # into the window: the first frame only centres the pointer
        look(0, -150)      # look up: the panel appears level ahead, so no number is under the centre yet
        xdo(display, "key", "--window", window, "F9")
        assert wait_for_event(out, "rating_prompt"), "the session asked for SUDS"
        # 70 on the SUDS row is 7.9 degrees right of the panel's middle; come back level, onto it,
        # and click well within the 2 s a look takes to answer by itself.
        look(round(7.9 / MOUSE_DEG_PER_PX), 150, 0.3)
        look(0, 15, 0.3)
        xdo(display, "click", "1")
        wait_for_event(out, "rating", 5.0)
        xdo(display, "key", "--window", window, "Escape")
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    rec = read_record(out)
    prompts = rec.of_kind("rating_prompt")
    assert [(e["scale"], e["reason"]) for e in prompts] == [("suds", "clinician")]
    ratings = [(e["scale"], e["value"], e["source"]) for e in rec.of_kind("rating")]
    assert ratings == [("suds", 70.0, "mouse")]
