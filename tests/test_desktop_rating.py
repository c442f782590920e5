"""The patient answers a rating prompt with the mouse in the desktop preview: the centre of the
view (the head ray, since mouse-look turns the head) points at a number and a click records it.

The first tests drive ``DesktopControls`` with a stand-in ShowBase (real scene-graph nodes, no
window); the last opens the preview in a real window on a virtual display (Xvfb) and clicks.
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
from vr.sim.rating_panel import DWELL_S, PANEL_WIDTH_M, Pointer, RatingInput, head_ray
from vr.config import load_profile
from vr.record import read_record
from vr.sim import Command, FrameInputs, HeadPose, Rating, WorldState
from vr.sim.distraction import DistractionSession

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


def towards(rating: RatingInput, head: HeadPose, tick: int) -> HeadPose:
    """``head`` turned so that the centre of the view meets ``tick`` on the panel now shown."""
    place, ticks = rating.placement, rating.scale.ticks
    u = 0.05 + 0.9 * (ticks.index(tick) + 0.5) / len(ticks)
    yaw = math.radians(place.yaw_deg)
    x, y, _ = place.center_m
    target = (x + (u - 0.5) * PANEL_WIDTH_M * math.cos(yaw), y + (u - 0.5) * PANEL_WIDTH_M * math.sin(yaw),
              place.center_m[2] - 0.04)   # the row of numbers sits a little below the panel's middle
    d = [t - o for t, o in zip(target, head.position_m)]
    yaw_deg = math.degrees(math.atan2(-d[0], d[1]))
    pitch_deg = math.degrees(math.atan2(d[2], math.hypot(d[0], d[1])))
    turned = HeadPose(head.position_m, yaw_deg, pitch_deg)
    origin, direction = head_ray(turned)
    assert rating.tick_at(Pointer(origin, direction)) == tick
    return turned


def exposure_world() -> tuple[HeadPose, WorldState]:
    """The patient's starting head and the world after one step of an exposure session."""
    loaded = load_profile(ROOT / "exposure_profiles" / "public_speaking.yaml")
    session = new_session(loaded, 3)
    world, _ = session.step(FrameInputs(session.head), DT)
    return session.head, world


def test_a_click_records_the_number_at_the_centre_and_the_reticle_shows_while_asked():
    base = StandInBase()
    start, world = exposure_world()
    controls = DesktopControls(base, start)
    assert controls.panel.root.isHidden() and controls.reticle.isHidden()
    asked = replace(world, rating_prompt="suds")
    assert controls.poll(asked, DT).ratings == ()
    assert not controls.panel.root.isHidden() and not controls.reticle.isHidden()
    controls.head = towards(controls.rating, controls.head, 70)
    assert controls.poll(asked, DT).ratings == ()  # looking is not answering (the dwell has only begun)
    base.press("mouse1")
    inputs = controls.poll(replace(asked, t_s=asked.t_s + DT), DT)
    assert inputs.ratings == (Rating("suds", 70.0, "mouse"),) and inputs.commands == ()
    # A frame that ran no session step still shows the answered prompt: the panel does not come back.
    for _ in range(3):
        assert controls.poll(replace(asked, t_s=asked.t_s + DT), DT).ratings == ()
        assert controls.rating.scale is None and controls.panel.root.isHidden() and controls.reticle.isHidden()
    # With no prompt a click does nothing in an exposure session.
    base.press("mouse1")
    inputs = controls.poll(replace(world, t_s=asked.t_s + 2 * DT), DT)
    assert inputs.ratings == () and inputs.commands == ()
    controls.destroy()
    assert base.render.find("**/rating-panel").isEmpty() and base.aspect2d.find("**/rating-reticle").isEmpty()


def test_a_click_off_the_numbers_records_nothing_and_keys_still_rate():
    base = StandInBase()
    start, world = exposure_world()
    controls = DesktopControls(base, start)
    asked = replace(world, rating_prompt="suds")
    controls.poll(asked, DT)
    controls.head = HeadPose(controls.head.position_m, controls.head.yaw_deg + 60.0)  # away from the panel
    base.press("mouse1")
    assert controls.poll(asked, DT).ratings == () and controls.rating.scale is not None
    base.press("4")  # the clinician's key answers as before, and the panel goes at once
    base.press("mouse1")  # a click in the same frame was meant for the panel: it answers nothing
    assert controls.poll(asked, DT).ratings == (Rating("suds", 40.0, "keyboard"),)
    assert controls.rating.scale is None and controls.panel.root.isHidden()
    assert controls.poll(asked, DT).ratings == () and controls.rating.scale is None  # the world has not stepped


def test_a_still_mouse_answers_nothing_and_a_steady_look_answers_by_itself():
    base = StandInBase()
    start, world = exposure_world()
    controls = DesktopControls(base, start)
    asked = replace(world, rating_prompt="suds")
    frames = int(2 * DWELL_S / DT)
    # The panel opens centred under the view: reading the question without moving answers nothing.
    assert all(controls.poll(replace(asked, t_s=asked.t_s + k * DT), DT).ratings == () for k in range(frames))
    controls.head = towards(controls.rating, controls.head, 30)
    given = [r for k in range(frames) for r in controls.poll(replace(asked, t_s=asked.t_s + k * DT), DT).ratings]
    assert given == [Rating("suds", 30.0, "desktop_gaze")]


def test_distraction_a_click_answers_while_asked_and_throws_otherwise():
    loaded = load_profile(ROOT / "exposure_profiles" / "needle_reef.yaml")
    session = DistractionSession(loaded.config, loaded.scene.config, 5)
    world, _ = session.step(FrameInputs(session.head), DT)
    base = StandInBase()
    controls = DesktopControls(base, session.head, distraction=True)
    # Somewhere along the glide, turned: the panel rides with the patient's seat.
    game = replace(world.game, rig_position_m=(4.0, 12.0, 0.0), rig_yaw_deg=20.0)
    asked = replace(world, rating_prompt="pain", game=game)
    controls.poll(asked, DT)
    assert not controls.panel.root.isHidden()
    assert controls.reticle.isHidden()  # the game draws its own reticle at the centre of the view
    cx, cy, cz = controls.rating.placement.center_m   # in the seat's frame
    r = math.radians(20.0)
    want = (4.0 + math.cos(r) * cx - math.sin(r) * cy, 12.0 + math.sin(r) * cx + math.cos(r) * cy, cz)
    assert tuple(controls.panel.root.getPos(base.render)) == pytest.approx(want, abs=1e-4)
    controls.head = towards(controls.rating, controls.head, 7)
    base.press("mouse1")
    inputs = controls.poll(replace(asked, t_s=asked.t_s + DT), DT)
    assert inputs.ratings == (Rating("pain", 7.0, "mouse"),)
    assert inputs.commands == ()  # the click went to the rating, not to a throw
    base.press("mouse1")
    inputs = controls.poll(replace(world, t_s=asked.t_s + 2 * DT), DT)
    assert inputs.ratings == () and inputs.commands == (Command("fire", source="mouse"),)


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
