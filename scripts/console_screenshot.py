"""The console's picture for the docs: a real session, steered a little, seen in headless Chromium.

    python scripts/console_screenshot.py                      # docs/images/console.png
    python scripts/console_screenshot.py --distraction --out /tmp/console_distraction.png
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from console_run import ConsoleRun


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "console.png"))
    parser.add_argument("--distraction", action="store_true", help="the burn-dressing distraction profile")
    parser.add_argument("--size", default="1400x900", help="browser window")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs chromium (scripts/setup.sh --test installs it)")
    from playwright.sync_api import sync_playwright

    width, height = (int(v) for v in args.size.split("x"))
    profile = "burn_dressing_snow" if args.distraction else "job_interview"
    # The session in the preview window on a virtual display: paced as on a clinician's screen.
    xvfb = subprocess.Popen(["Xvfb", ":86", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if shutil.which("Xvfb") else None
    time.sleep(1.0)
    with tempfile.TemporaryDirectory() as tmp:
        run = ConsoleRun(Path(tmp) / "rec", "--pseudonym", "P-0107", profile=profile, size="960x540", fps=30.0,
                         display=":86" if xvfb else None)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(run.url)
                page.wait_for_selector('body[data-connected="1"]')
                if args.distraction:
                    steer_distraction(run)
                else:
                    steer_exposure(run)
                page.wait_for_selector("#mirror[src^='blob:']", timeout=60_000)
                time.sleep(1.5)
                page.screenshot(path=args.out)
                browser.close()
        finally:
            run.stop()
            if xvfb is not None:
                xvfb.terminate()
    print(args.out)
    return 0


def steer_exposure(run: ConsoleRun) -> None:
    run.command(command="rating", scale="suds", value=20)
    run.command(command="step_up")
    time.sleep(2)
    run.command(command="rating", scale="suds", value=35)
    run.command(command="step_up")
    run.wait_for(lambda s: len(s["humans"]) >= 1, 60)
    time.sleep(3)
    run.command(command="say", text="Good morning, thank you for seeing me.")
    time.sleep(4)
    run.command(command="rating", scale="suds", value=55)
    run.command(command="step_up")
    time.sleep(4)
    run.command(command="say", text="I have worked in a team of five for three years.")
    run.command(command="rating", scale="suds", value=45)
    run.command(command="note", text="Steady voice; kept eye contact with the chair.")
    time.sleep(6)


def steer_distraction(run: ConsoleRun) -> None:
    run.command(command="rating", scale="pain", value=3)
    time.sleep(3)
    run.command(command="phase_start")
    time.sleep(4)
    run.command(command="rating", scale="pain", value=6)
    run.command(command="breathing", value=1)
    time.sleep(4)
    run.command(command="rating", scale="pain", value=5)
    time.sleep(3)


if __name__ == "__main__":
    sys.exit(main())
