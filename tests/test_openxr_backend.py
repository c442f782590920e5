"""The headset backend through pyopenxr's real loader, against the test runtime in tests/xr_runtime.

Each run renders real frames (Panda3D offscreen, EGL) into the runtime's swapchain images, which
the runtime reads back; the session record is checked as for any other run.
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from conftest import ROOT

from vr.app.run import run_rendered
from vr.config import load_profile
from vr.record.verify import verify_events
from vr.sim import Command

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler to build the test OpenXR runtime's loader shim")

PROFILE = ROOT / "exposure_profiles" / "waiting_room_stranger.yaml"


def events(out):
    return [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]


def run(tmp_path, seconds=1.0, on_loop=None, name="rec", **kw):
    out = tmp_path / name
    result = run_rendered(load_profile(PROFILE), backend_kind="openxr", seconds=seconds, seed=3, out=out,
                          pseudonym="XR-01", size=(320, 180), on_loop=on_loop, **kw)
    return result, out


def yaw_quat(deg):
    half = math.radians(deg) / 2
    return (0.0, math.sin(half), 0.0, math.cos(half))  # about OpenXR's +Y (up): positive turns left


def clean(runtime):
    assert runtime.violations == [], runtime.violations
    assert runtime.errors == [], runtime.errors


def test_both_eyes_rendered_into_the_swapchains_from_different_positions(xr_runtime, tmp_path):
    xr_runtime.capture = True
    result, out = run(tmp_path, seconds=1.0)
    clean(xr_runtime)
    assert result.ended == "run_finished"
    assert xr_runtime.binding == "egl"
    last = xr_runtime.submissions[-1]
    assert last.space == "STAGE" and len(last.views) == 2
    left, right = last.views
    assert left.pixels.shape == right.pixels.shape == (160, 192, 4)
    for eye in (left, right):
        assert eye.pixels[..., :3].std() > 10.0  # a scene, not a cleared image
    # The eyes were placed where the runtime located them: 64 mm apart along the head's x axis.
    separation = np.subtract(right.pose.position, left.pose.position)
    assert np.linalg.norm(separation) == pytest.approx(xr_runtime.ipd_m, abs=1e-6)
    diff = np.abs(left.pixels.astype(int) - right.pixels.astype(int))[..., :3]
    assert diff.mean() > 2.0  # two viewpoints, two different images
    # The session went through the whole life cycle and ended it in order.
    states = xr_runtime.states
    for state in ("IDLE", "READY", "SYNCHRONIZED", "VISIBLE", "FOCUSED", "STOPPING", "EXITING"):
        assert state in [s.name if hasattr(s, "name") else str(s) for s in states], state
    assert verify_events(out / "events.jsonl").ok
    meta = json.loads((out / "session.json").read_text())
    assert meta["backend"] == "openxr"
    assert meta["headset"]["system_name"] == "Test HMD"
    assert meta["tracking_space"] == "STAGE"


def test_with_no_eye_separation_and_equal_fields_of_view_both_eyes_see_the_same(xr_runtime, tmp_path):
    # The control for the test above: the difference comes from where each eye stands.
    xr_runtime.capture = True
    xr_runtime.ipd_m = 0.0
    fov = xr_runtime.eye_fovs[0]
    xr_runtime.eye_fovs = (fov, fov)
    run(tmp_path, seconds=0.4)
    clean(xr_runtime)
    left, right = xr_runtime.submissions[-1].views
    assert np.abs(left.pixels.astype(int) - right.pixels.astype(int)).max() <= 2


def test_head_tracking_reaches_the_session_in_the_scene_frame(xr_runtime, tmp_path):
    # Recentered on the first frame (facing the scene's way), then the patient turns 40 degrees left.
    xr_runtime.head_path = lambda i: ((0.0, 1.65, 0.0), yaw_quat(40.0 if i > 40 else 0.0))
    _, out = run(tmp_path, seconds=1.0)
    clean(xr_runtime)
    samples = [e for e in events(out) if e["kind"] == "sample"]
    start_yaw = samples[0]["head"]["yaw_deg"] if "head" in samples[0] else samples[0]["head_yaw_deg"]
    last = samples[-1]
    last_yaw = last["head"]["yaw_deg"] if "head" in last else last["head_yaw_deg"]
    assert ((last_yaw - start_yaw + 180) % 360 - 180) == pytest.approx(40.0, abs=0.5)


def test_menu_button_recenters_the_patient_at_their_place(xr_runtime, tmp_path):
    # The patient turns 90 degrees right and steps aside, then presses the menu button.
    xr_runtime.head_path = lambda i: ((0.0, 1.65, 0.0), yaw_quat(0.0)) if i < 30 else ((0.8, 1.65, 0.3), yaw_quat(-90.0))
    left = xr_runtime.controllers["left"]

    def script(loop):
        def press(task):
            left.menu = 45 <= loop.frames < 50
            return task.cont

        loop.base.taskMgr.add(press, "test-menu", sort=-1000)

    _, out = run(tmp_path, seconds=0.9, on_loop=script)
    clean(xr_runtime)
    samples = [e for e in events(out) if e["kind"] == "sample"]
    first, turned, last = samples[0]["head"], samples[4]["head"], samples[-1]["head"]
    assert ((turned["yaw_deg"] - first["yaw_deg"] + 180) % 360 - 180) == pytest.approx(-90.0, abs=0.5)
    assert last["yaw_deg"] == pytest.approx(first["yaw_deg"], abs=0.5)  # facing the scene's way again
    assert last["position_m"][:2] == pytest.approx(first["position_m"][:2], abs=0.01)


def test_resolution_scale_local_space_and_a_linear_swapchain(xr_runtime, tmp_path):
    import xr

    xr_runtime.reference_spaces = [s for s in xr_runtime.reference_spaces if s != xr.ReferenceSpaceType.STAGE]
    xr_runtime.swapchain_formats = [0x8058]  # GL_RGBA8 only
    _, out = run(tmp_path, seconds=0.3, xr_scale=0.5)
    clean(xr_runtime)
    last = xr_runtime.submissions[-1]
    assert last.space == "LOCAL"
    assert [v.image_rect[2:] for v in last.views] == [(96, 80), (96, 80)]
    meta = json.loads((out / "session.json").read_text())
    assert meta["tracking_space"] == "LOCAL" and meta["swapchain_format"] == "GL_RGBA8"
    # LOCAL's origin is the starting head: the scene's eye height is the floor offset.
    from vr.sim import Session

    loaded = load_profile(PROFILE)
    start_z = Session(loaded.config, loaded.scene.config, 3).head.position_m[2]
    sample = [e for e in events(out) if e["kind"] == "sample"][-1]
    tracked_above_local_origin = 1.65 - xr_runtime.local_height_m
    assert sample["head"]["position_m"][2] == pytest.approx(start_z + tracked_above_local_origin, abs=0.01)


def test_a_runtime_with_no_8bit_swapchain_format_is_refused_clearly(xr_runtime, tmp_path):
    from vr.backends.openxr.instance import HeadsetRefused

    xr_runtime.swapchain_formats = [0x881A]  # GL_RGBA16F only
    with pytest.raises(HeadsetRefused, match="GL_RGBA16F"):
        run(tmp_path, seconds=0.3)
    assert not (tmp_path / "rec").exists()
    assert not xr_runtime.live_instances  # torn down in reverse, the instance included


def test_comfort_telemetry_goes_into_the_record(xr_runtime, tmp_path):
    _, out = run(tmp_path, seconds=2.2)
    stats = [e for e in events(out) if e["kind"] == "frame_stats"]
    assert stats
    for e in stats:
        assert e["display_period_ms"] == pytest.approx(11.111, abs=0.01)
        assert e["missed_frames"] >= 0 and e["xr_frames"] > 0
        assert all(ms > 0 for ms in e["cpu_ms"])


@pytest.mark.parametrize("incident", ["loss_pending", "instance_loss"])
def test_loss_of_the_session_mid_run_ends_cleanly_with_an_intact_record(xr_runtime, tmp_path, incident):
    xr_runtime.schedule(30, incident)
    result, out = run(tmp_path, seconds=10.0)
    clean(xr_runtime)
    assert result.ended == "headset_lost"
    evs = events(out)
    alerts = [e for e in evs if e["kind"] == "alert" and e["reason"] == "headset"]
    assert alerts and "lost" in alerts[0]["message"]
    assert evs[-1]["kind"] == "session_ended" and evs[-1]["reason"] == "headset_lost"
    assert verify_events(out / "events.jsonl").ok
    assert evs[-1]["t_s"] < 2.0  # ended at the loss, not at the ten seconds asked for


def test_runtime_asking_to_quit_ends_the_session(xr_runtime, tmp_path):
    xr_runtime.schedule(20, "user_exit")
    result, out = run(tmp_path, seconds=10.0)
    clean(xr_runtime)
    assert result.ended == "headset_exit"
    assert verify_events(out / "events.jsonl").ok


def test_headset_taken_off_pauses_the_exposure_and_tells_the_clinician(xr_runtime, tmp_path):
    xr_runtime.schedule(20, "hide")
    xr_runtime.schedule(60, "focus")
    result, out = run(tmp_path, seconds=1.2)
    clean(xr_runtime)
    evs = events(out)
    paused = [e for e in evs if e["kind"] == "paused"]
    assert paused, "the exposure should pause while the headset shows nothing"
    commands = [e for e in evs if e["kind"] == "clinician_command" and e.get("source") == "headset"]
    assert commands and commands[0]["command"] == "pause"
    messages = [e["message"] for e in evs if e["kind"] == "alert" and e["reason"] == "headset"]
    assert any("paused" in m for m in messages) and any("again" in m for m in messages)
    # Nothing is drawn while hidden: frames go on, with no layer submitted for them.
    assert result.ended == "run_finished"


def test_controller_answers_the_rating_in_the_headset(xr_runtime, tmp_path):
    right = xr_runtime.controllers["right"]

    def script(loop):
        loop.submit(Command("ask_rating", text="suds", id="ask-1"))

        def drive(task):
            f = loop.frames
            right.thumbstick = (1.0, 0.0) if 5 <= f < 40 else (0.0, 0.0)
            right.trigger = 1.0 if 50 <= f < 55 else 0.0
            return task.cont

        loop.base.taskMgr.add(drive, "test-controller", sort=-1000)

    _, out = run(tmp_path, seconds=1.0, on_loop=script)
    clean(xr_runtime)
    ratings = [e for e in events(out) if e["kind"] == "rating"]
    assert len(ratings) == 1
    assert ratings[0]["scale"] == "suds" and ratings[0]["value"] > 60  # pushed up from the middle
    assert ratings[0]["source"] == "headset_controller"
    assert any(h[0] in ("right", "/user/hand/right") for h in xr_runtime.haptics)
    profiles = set(xr_runtime.suggested)
    for family in ("khr/simple_controller", "oculus/touch_controller", "valve/index_controller",
                   "htc/vive_controller", "microsoft/motion_controller"):
        assert f"/interaction_profiles/{family}" in profiles


def test_refused_extension_is_a_clear_error_before_any_record(xr_runtime, tmp_path, capsys):
    from vr.cli import main

    del xr_runtime.extensions["XR_MNDX_egl_enable"]
    out = tmp_path / "never"
    code = main(["run", "--backend", "openxr", "--profile", str(PROFILE), "--out", str(out), "--pseudonym", "XR-02"])
    err = capsys.readouterr().err
    assert code != 0
    assert "XR_MNDX_egl_enable" in err and "display" in err
    assert not out.exists()


def test_no_runtime_at_all(tmp_path, monkeypatch, capsys):
    from vr.cli import main

    monkeypatch.setenv("XR_RUNTIME_JSON", str(tmp_path / "nothing-here.json"))
    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["doctor"]) == 4
    err = capsys.readouterr().err
    for name in ("SteamVR", "Meta Quest Link", "Monado", "Windows Mixed Reality", "--backend desktop"):
        assert name in err
    code = main(["run", "--backend", "openxr", "--profile", str(PROFILE), "--out", str(tmp_path / "r"),
                 "--pseudonym", "XR-03"])
    assert code != 0 and "No OpenXR runtime answered" in capsys.readouterr().err
    # auto falls back to offscreen and says why
    code = main(["run", "--profile", str(PROFILE), "--seconds", "0.3", "--out", str(tmp_path / "auto"),
                 "--pseudonym", "XR-04", "--size", "160x90"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "backend: offscreen" in printed and "no OpenXR runtime" in printed


def test_doctor_describes_the_runtime_and_headset(xr_runtime, capsys, monkeypatch):
    from vr.cli import main

    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["doctor"]) == 0
    text = capsys.readouterr().out
    for expected in ("vr test runtime", "Test HMD", "192x160", "EGL", "XR_MNDX_egl_enable", "oculus/touch_controller",
                     "pyopenxr"):
        assert expected in text, expected
    assert main(["doctor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["system"]["views"][0]["recommended_size"] == [192, 160]


def test_desktop_mirror_window_binds_its_glx_context(display, tmp_path):
    # A process of its own: a real window on a virtual display, whose GLX context the runtime gets.
    import os
    import subprocess
    import sys

    env = {**os.environ, "DISPLAY": display, "VR_AUDIO": "off"}
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "xr_runtime" / "host.py"), str(tmp_path), str(PROFILE),
                           "1.0"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["binding"] == "xlib"
    assert got["violations"] == [] and got["errors"] == []
    assert got["states"][-1] == "EXITING"
    assert min(got["eye_std"]) > 10.0 and got["eye_diff"] > 2.0
    assert got["screenshots"] >= 2  # the mirror window (the left eye) was captured


def test_people_look_the_same_in_the_headset_batched_or_not(xr_runtime, tmp_path):
    # Batched humans are skinned on the GPU; the headset path must not upset that (it once did:
    # heads and arms vanished). A seated interviewer in view, drawn both ways, must match.
    xr_runtime.capture = True
    xr_runtime.head_pose = ((0.0, 1.2, 0.0), (0.0, 0.0, 0.0, 1.0))
    interview = ROOT / "exposure_profiles" / "job_interview.yaml"
    images = []
    for batched in (True, False):
        def script(loop):
            loop.submit(Command("goto_step", value=4, source="test"))

        run_rendered(load_profile(interview), backend_kind="openxr", seconds=1.0, seed=11,
                     out=tmp_path / f"b{int(batched)}", pseudonym="XR-05", size=(160, 90), on_loop=script,
                     batched=batched)
        images.append(xr_runtime.submissions[-1].views[0].pixels[..., :3].astype(int))
    clean(xr_runtime)
    differing = (np.abs(images[0] - images[1]).max(axis=2) > 40).sum()
    assert differing < 20, f"{differing} pixels differ (the broken skinning gave over 300)"


def test_a_distraction_session_in_the_headset_rides_the_glide(xr_runtime, tmp_path):
    # The eyes follow the glide while the head handed to the session stays in the seat's frame;
    # a controller's trigger throws at what it points at.
    xr_runtime.capture = True
    right = xr_runtime.controllers["right"]
    right.position, right.trigger = (0.2, 1.1, -0.3), 0.0
    reef = ROOT / "exposure_profiles" / "needle_reef.yaml"
    def script(loop):
        def drive(task):  # the pain asked at the start is answered with the trigger; then the ride starts
            right.trigger = 1.0 if 40 <= loop.frames < 45 else 0.0
            return task.cont

        loop.base.taskMgr.add(drive, "test-trigger", sort=-1000)

    result = run_rendered(load_profile(reef), backend_kind="openxr", seconds=8.0, seed=2, out=tmp_path / "rec",
                          pseudonym="XR-06", size=(160, 90), on_loop=script)
    clean(xr_runtime)
    evs = events(tmp_path / "rec")
    samples = [e for e in evs if e["kind"] == "sample"]
    assert [e["when"] for e in evs if e["kind"] == "rating"] == ["before"]
    assert samples[-1]["game"]["speed_mps"] > 0.2          # gliding once the pain was given
    assert abs(samples[-1]["head"]["position_m"][1] - samples[0]["head"]["position_m"][1]) > 0.5  # the head rode along
    left, right_eye = xr_runtime.submissions[-1].views
    assert left.pixels[..., :3].std() > 8.0 and np.abs(left.pixels.astype(int) - right_eye.pixels.astype(int)).mean() > 1
    assert result.ended == "run_finished"
    assert any(e["kind"] == "target_appeared" for e in evs)


def test_the_console_mirror_shows_the_left_eye(xr_runtime, tmp_path):
    """The console's mirror in a headset: a small second camera at the left eye, with its lens."""
    import io
    import threading
    import time
    import urllib.request

    from PIL import Image

    from vr.console import ConsoleOptions

    xr_runtime.capture = True
    urls: list[str] = []
    pictures: list[bytes] = []

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not pictures:
            if urls:
                try:
                    with urllib.request.urlopen(urls[0] + "api/mirror.jpg", timeout=5) as r:
                        if r.status == 200:
                            pictures.append(r.read())
                except OSError:
                    pass
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    result, _ = run(tmp_path, seconds=4.0, console=ConsoleOptions(port=0, announce=urls.append))
    watcher.join(5)
    clean(xr_runtime)
    assert result.ended == "run_finished" and pictures, "no mirror picture came"
    mirror = np.asarray(Image.open(io.BytesIO(pictures[0])).convert("RGB")).astype(float)
    left = xr_runtime.submissions[-1].views[0].pixels[..., :3].astype(float)
    assert mirror.shape == (266, 320, 3)          # the eye's 192x160, as 320 wide
    assert mirror.std() > 10.0                    # a scene, not a cleared picture
    assert np.abs(mirror.mean(axis=(0, 1)) - left.mean(axis=(0, 1))).max() < 30.0   # the same view
