"""The console shows the lab streams: heart rate with its trace, greyed while the stream is lost
(a real ``vr run --lsl-hr`` with its console, a real LSL outlet, Chromium)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
os.environ.setdefault("LSLAPICFG", str(HERE / "data" / "lsl_loopback.cfg"))   # the run inherits it

pytest.importorskip("pylsl")

from console_run import ConsoleRun  # noqa: E402
from playwright.sync_api import expect  # noqa: E402
from test_console_browser import CHROMIUM, browser, open_console  # noqa: E402,F401 - the shared Chromium fixture

pytestmark = pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                                reason="needs chromium (scripts/setup.sh --test installs it)")


def test_heart_rate_and_its_trace_on_the_page(browser, tmp_path):  # noqa: F811
    source = subprocess.Popen([sys.executable, str(HERE / "lsl_source.py"), "test-console-hr", "HR", "4"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    run = None
    try:
        assert source.stdout.readline().startswith("ready")
        run = ConsoleRun(tmp_path / "rec", "--no-dialogue", "--lsl-hr", "test-console-hr")
        page, errors = open_console(browser, run)
        state = run.wait_for(lambda s: (s.get("physio") or {}).get("hr", {}).get("value") is not None, 30)
        assert state["physio"]["hr"]["source"] == "test-console-hr" and state["physio"]["hr"]["unit"] == "bpm"
        row = page.locator('#physio [data-kind="hr"]')
        expect(row).to_be_visible(timeout=10_000)
        expect(row.locator("b")).to_have_text(re.compile(r"^\d+$"))
        page.wait_for_function("() => (document.querySelector('#physio polyline')?.getAttribute('points') || '')"
                               ".split(' ').length >= 3", timeout=15_000)
        source.stdin.close()                       # the sender goes away: the row turns grey, the run goes on
        source.wait(10)
        expect(row).to_have_class(re.compile("lost"), timeout=20_000)
        assert not errors, errors
    finally:
        if source.poll() is None:
            source.stdin.close()
            source.wait(10)
        if run is not None:
            run.stop()
    alerts = [e for e in run.events() if e["kind"] == "alert" and e.get("reason") == "lab_stream"]
    assert alerts and "lost" in alerts[0]["message"]
