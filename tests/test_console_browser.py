"""The console page in a real headless Chromium (Debian's, driven by Playwright) against a real session."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from console_run import ConsoleRun
from playwright.sync_api import expect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# On a person's machine without Chromium these skip; under CI they must run (and fail without it).
pytestmark = pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                                reason="needs chromium (scripts/setup.sh --test installs it)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "chromium is missing: scripts/setup.sh --test installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                                              "--disable-background-networking", "--disable-sync"])
        yield b
        b.close()


def open_console(browser, run: ConsoleRun, size=(1400, 900)):
    # (On a network address the console's certificate is this run's own: tests/test_console_tls.py checks it.)
    page = browser.new_page(viewport={"width": size[0], "height": size[1]}, ignore_https_errors=run.context is not None)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(run.url)
    page.wait_for_selector('body[data-connected="1"]', timeout=20_000)
    return page, errors


def recorded(run: ConsoleRun, kind: str) -> list[dict]:
    return [e for e in run.events() if e["kind"] == kind]


def test_panic_suds_and_step_up_from_the_page(browser, tmp_path):
    run = ConsoleRun(tmp_path / "rec", "--no-dialogue", "--pseudonym", "P-0042")
    try:
        page, errors = open_console(browser, run)
        assert "P-0042" in page.inner_text("header")
        page.wait_for_selector("#mirror[src^='blob:']", timeout=15_000)     # the patient's view arrives
        # Step up.
        before = run.state()["step"]["index"]
        page.click("#step-up")
        run.wait_for(lambda s: s["step"]["index"] == before + 1)
        expect(page.locator("#step")).to_contain_text(f"{before + 2} /")
        # A SUDS from the buttons.
        page.click('[data-suds="40"]')
        run.wait_for(lambda s: s["ratings"]["suds"] == 40)
        expect(page.locator("#last-suds")).to_have_text("40")
        # Panic: the session reaches the safe scene, and the page shows it.
        page.click("#panic")
        state = run.wait_for(lambda s: s["mode"] == "safe", 10)
        assert state["scene"] == "calm_room" and state["humans"] == []
        page.wait_for_selector('body[data-mode="safe"]', timeout=5_000)
        page.screenshot(path=str(tmp_path / "console_safe.png"))
        # The keyboard: Space resumes from the safe scene (one step lower).
        page.keyboard.press("Space")
        run.wait_for(lambda s: s["mode"] == "running")
        assert not errors, errors
    finally:
        run.stop()
    commands = [(e["command"], e["source"], e["applied"]) for e in recorded(run, "clinician_command")
                if e["source"] == "console"]
    assert commands[:3] == [("step_up", "console", True), ("panic", "console", True), ("resume", "console", True)]
    ratings = recorded(run, "rating")
    assert [(r["scale"], r["value"], r["source"]) for r in ratings] == [("suds", 40.0, "console")]
    panic = recorded(run, "panic")[0]
    safe = recorded(run, "safe_scene")[0]
    assert panic["t_s"] == safe["t_s"]                               # the same step
    record = (tmp_path / "rec" / "events.jsonl").read_text() + (tmp_path / "rec" / "session.json").read_text()
    assert "P-0042" in record and "name" not in json.loads((tmp_path / "rec" / "session.json").read_text())


def _console_process(run: ConsoleRun) -> int:
    """The console's own process: the run's spawned child that is not multiprocessing's tracker."""
    children = Path(f"/proc/{run.proc.pid}/task/{run.proc.pid}/children").read_text().split()
    for pid in map(int, children):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            return pid
    raise AssertionError(f"no console process among {children}")


def test_the_page_reconnects_and_commands_still_apply_once(browser, tmp_path):
    run = ConsoleRun(tmp_path / "rec", "--no-dialogue")
    try:
        page, errors = open_console(browser, run)
        second, _ = open_console(browser, run, size=(1024, 768))          # a tablet beside the laptop
        run.wait_for(lambda s: s["viewers"] == 2)
        os.kill(_console_process(run), signal.SIGKILL)                     # the console crashes mid-session
        page.wait_for_selector('body[data-connected="0"]', timeout=10_000)
        page.wait_for_selector('body[data-connected="1"]', timeout=30_000)  # back by itself
        second.wait_for_selector('body[data-connected="1"]', timeout=30_000)
        page.click("#pause")
        run.wait_for(lambda s: s["mode"] == "paused")
        second.wait_for_selector('body[data-mode="paused"]', timeout=5_000)
        second.close()                                                     # a viewer leaves: nothing changes
        page.close()
        time.sleep(1.0)
        assert run.state()["mode"] == "paused"
        assert not errors, errors
    finally:
        run.stop()
    alerts = [e["message"] for e in recorded(run, "alert") if e.get("reason") == "console"]
    assert alerts and "started again" in alerts[0]
    pauses = [e for e in recorded(run, "clinician_command") if e["command"] == "pause"]
    assert len(pauses) == 1 and pauses[0]["applied"]


def test_words_and_an_authored_line_reach_the_humans(browser, tmp_path):
    """With dialogue: the patient's words typed on the page, and a line picked from the bank."""
    run = ConsoleRun(tmp_path / "rec", "--profile", "job_interview")
    try:
        page, errors = open_console(browser, run)
        page.click("#step-up")
        page.click("#step-up")
        run.wait_for(lambda s: len(s["humans"]) > 0, 30)
        page.fill("#words", "Thank you for seeing me today")
        page.click("#words-send")
        expect(page.locator("#transcript")).to_contain_text("Thank you for seeing me")
        page.fill("#line-filter", "")
        line = page.locator("[data-line-id]:not([disabled])").first
        line_id = line.get_attribute("data-line-id")
        line.click()
        text = next(ln["text"] for ln in run.get("api/info")["lines"] if ln["id"] == line_id)
        expect(page.locator("#transcript")).to_contain_text(text, timeout=40_000)
        # "Speak": a chosen human says something of their own.
        human = run.state()["humans"][-1]["id"]
        page.select_option("#line-human", human)
        page.click("#speak")
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not [
                e for e in recorded(run, "utterance") if e["speaker"] == human and e["request"] in
                {t["request"] for t in recorded(run, "speech_turn") if t.get("by") == "clinician"}]:
            time.sleep(0.2)
        assert not errors, errors
    finally:
        run.stop()
    said = recorded(run, "patient_said")
    assert said and said[0]["source"] == "console" and said[0]["text"] == "Thank you for seeing me today"
    assert line_id in [e["line_id"] for e in recorded(run, "utterance")]
    assert recorded(run, "line_wanted")[0]["line_id"] == line_id
    turns = [t for t in recorded(run, "speech_turn") if t.get("by") == "clinician"]
    assert [t["human"] for t in turns] == [human]
    assert turns[0]["request"] in [e["request"] for e in recorded(run, "utterance") if e["speaker"] == human]


def test_the_page_retries_panic_with_the_same_id_until_it_is_answered(browser, tmp_path):
    """On a network address (the token in the address once, then the cookie). The first tries of a
    panic fail: no connection, 429, the answer lost on its way back (the session got it), a proxy's
    503. The page keeps trying with the same id until the server answers, and panic applies once."""
    run = ConsoleRun(tmp_path / "rec", "--no-dialogue", host="0.0.0.0")
    try:
        page, errors = open_console(browser, run)
        assert "token" not in page.url                                     # the address is clean again
        tries: list[str] = []

        def flaky(route):
            body = json.loads(route.request.post_data or "{}")
            if body.get("command") != "panic":
                route.continue_()
                return
            tries.append(body["id"])
            if len(tries) == 1:
                route.abort("connectionrefused")
            elif len(tries) == 2:
                route.fulfill(status=429, content_type="application/json", body='{"error": "too many"}')
            elif len(tries) == 3:
                route.fetch()                       # it reaches the session...
                route.abort("connectionreset")      # ... and the answer is lost
            elif len(tries) == 4:
                route.fulfill(status=503, content_type="text/plain", body="upstream busy")
            else:
                route.continue_()

        page.route("**/api/command", flaky)
        with page.expect_response(lambda r: r.url.endswith("/api/command") and r.status == 200,
                                  timeout=30_000) as answered:
            page.click("#panic")
        answer = answered.value.json()
        assert answer["status"] == "applied" and answer["repeat"] is True and answer["id"] == tries[0]
        assert len(tries) == 5 and len(set(tries)) == 1
        run.wait_for(lambda s: s["mode"] == "safe")
        expect(page.locator(f'#log li[data-id="{tries[0]}"] .s')).to_have_text("applied")
        page.unroute("**/api/command")
        page.click("#pause")                                               # leaves the safe scene
        run.wait_for(lambda s: s["mode"] == "running")
        assert not errors, errors
    finally:
        run.stop()
    panics = [e for e in recorded(run, "clinician_command") if e["command"] == "panic"]
    assert [(e["id"], e["applied"]) for e in panics] == [(tries[0], True)]
    assert len(recorded(run, "panic")) == 1


def test_heard_turns_show_live_and_the_clinician_corrects_one(browser, tmp_path):
    """With a microphone (recorded turns, on the wall clock): the page says when the patient is
    heard and speaking, shows the heard words, and a correction reaches the session."""
    from test_hearing_run import need_tools

    from vr.dialogue.clips import make_clip_folder

    need_tools()
    clips = tmp_path / "clips"
    make_clip_folder(clips, [("Thank you for having me, I am glad to be here.", "en-us", 160),
                             ("I have worked in customer service for about five years.", "en-us", 165)],
                     first_s=8.0, gap_s=6.0)
    run = ConsoleRun(tmp_path / "rec", "--mic", str(clips), "--pace", "30", profile="job_interview")
    try:
        page, errors = open_console(browser, run)
        page.click("#step-up")
        tag = page.locator("[data-testid=listening]")
        expect(tag).to_contain_text("listening", timeout=60_000)     # the recogniser is ready
        expect(tag).to_contain_text("patient speaking", timeout=30_000)
        expect(tag).to_have_class("listening speaking")
        expect(page.locator("#transcript")).to_contain_text("Patient (heard)", timeout=30_000)
        expect(tag).to_contain_text("1 heard", timeout=10_000)
        page.screenshot(path=str(tmp_path / "console_listening.png"))
        shot = os.environ.get("VR_CONSOLE_SHOT")
        if shot:
            page.screenshot(path=shot)
        page.click("[data-testid=correct-1]")
        page.fill("#words", "Thank you for having me. I am glad to be here.")
        page.press("#words", "Enter")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not [e for e in recorded(run, "patient_said") if e.get("corrects")]:
            time.sleep(0.2)
        assert not errors, errors
    finally:
        run.stop()
    said = recorded(run, "patient_said")
    assert said[0]["source"] == "microphone" and said[0]["said"] == 1
    fixed = [e for e in said if e.get("corrects") == 1]
    assert fixed and fixed[0]["text"] == "Thank you for having me. I am glad to be here."
    assert recorded(run, "speech_heard")
    meta = json.loads((tmp_path / "rec" / "session.json").read_text())
    assert meta["listening"]["source"] == "file" and meta["listening"]["keep_audio"] is False
