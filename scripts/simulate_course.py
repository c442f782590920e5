"""Simulate a course of exposure sessions for one synthetic patient, then write its course report.

    .venv/bin/python scripts/simulate_course.py --root /tmp/course            # five sessions, SIM-0100
    .venv/bin/python scripts/simulate_course.py --root /tmp/course --png docs/images/course_report.png

Each session runs ``exposure_profiles/public_speaking_body.yaml`` (SUDS and body rules) with the
synthetic patient wearing its simulated heart-rate and EDA sensors. Between sessions the
patient keeps part of what it got used to (``start_habituation`` of the next session: the
habituation it ended with, times ``--retention``), which is what between-session habituation
means in this model. A simulated clinician follows the course report: after the baseline step
(the empty hall, which the profile uses for the resting baseline) it moves the session to the
step the report recommends, and leaves a note at the end of each session.
``--png`` renders the report page in headless Chromium (playwright) to a picture.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOTES = [   # what the simulated clinician writes at the end of each session (seeded runs: the same course)
    "First session. Read the opening aloud; kept eyes on the notes once listeners arrived.",
    "Started higher. Heart rate rose with the larger audience; the breathing cue helped.",
    "More eye contact with the front rows; first time at the hostile questions.",
    "Hostile questions: stepped down on heart rate; stayed with the sceptical questions.",
    "Hostile questions still high at the end; repeat the top step next session.",
]


def simulate_course(root: Path, pseudonym: str, sessions: int, minutes: float, seed: int, retention: float,
                    rate_hz: float = 20.0) -> list[Path]:
    from vr.app import simulate as sim_app
    from vr.config import load_profile
    from vr.record.course import _sessions, next_start
    from vr.sim import Command, PatientParams, SyntheticPatient

    loaded = load_profile(ROOT / "exposure_profiles" / "public_speaking_body.yaml")
    names = [s.name for s in loaded.config.steps]
    baseline_s = loaded.config.steps[0].advance.after_s or 120.0
    habituation = 0.0
    folders = []
    made: list[SyntheticPatient] = []

    class Remembering(SyntheticPatient):   # keeps the patient so its habituation can carry over
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            made.append(self)

    for k in range(sessions):
        out = root / f"{pseudonym}_s{k + 1}"
        steps = int(round(minutes * 60 * rate_hz))
        at: dict[int, list] = {steps - 5: [Command("note", text=NOTES[k % len(NOTES)], source="simulated_clinician")]}
        if k:
            found, _ = _sessions(root, pseudonym)
            start, _why = next_start(found, names)
            if start > 1:
                at[int((baseline_s + 1.0) * rate_hz)] = [Command("goto_step", value=float(start),
                                                                 source="simulated_clinician")]
        params = PatientParams(sensitivity=1.45, habituation_per_min=0.25, start_habituation=round(habituation, 4))
        original, sim_app.SyntheticPatient = sim_app.SyntheticPatient, Remembering
        try:
            sim_app.run_simulation(loaded, seconds=minutes * 60, seed=seed + k, out=out, pseudonym=pseudonym,
                                   patient=params, rate_hz=rate_hz, commands_at=at)
        finally:
            sim_app.SyntheticPatient = original
        habituation = made[-1].habituation * retention
        folders.append(out)
        print(f"session {k + 1}: {out} (started with habituation {params.start_habituation:.3f})")
    return folders


def render_png(html_path: Path, png_path: Path) -> None:
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")   # the system's, else playwright's
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
        page.goto(html_path.resolve().as_uri())
        page.screenshot(path=str(png_path), full_page=True)
        browser.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, required=True, help="folder for the sessions and the course report")
    ap.add_argument("--patient", default="SIM-0100", help="pseudonym of the synthetic patient")
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--minutes", type=float, default=20.0, help="length of each session")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--retention", type=float, default=0.9, help="share of habituation kept to the next session")
    ap.add_argument("--png", type=Path, help="render the course report page to this picture")
    args = ap.parse_args()
    from vr.record.course import course_report

    args.root.mkdir(parents=True, exist_ok=True)
    simulate_course(args.root, args.patient, args.sessions, args.minutes, args.seed, args.retention)
    written = course_report(args.root, args.patient)
    print(f"course report: {written.path}")
    if args.png:
        render_png(written.path, args.png)
        print(f"picture: {args.png}")
    return 0 if written.trusted else 1


if __name__ == "__main__":
    raise SystemExit(main())
