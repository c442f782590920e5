"""Console speed: from a command posted to its effect in the session state, with the page live (JSON).

A real ``vr run`` (offscreen, public speaking, its console on a free port) is started, and the
console page is opened in headless Chromium, where it renders live (state, chart, mirror
pictures). Then:

1. **Latency**: ``--commands`` commands are posted to ``POST /api/command``, one at a time and
   ``--gap`` seconds apart: ``set_intensity`` to a new level each time. The time from sending the
   request to the first WebSocket state message that shows the new level is measured (a second
   client, beside the page, as a script would). Also the HTTP answer's own time (``applied``).
2. **The frame's cost**: frame CPU time (the record's ``frame_stats``) in a window with no viewer
   and in a window with the page and a WebSocket client watching, side by side in one run.

    python bench/console.py                         # 200 commands at 960x540 (about 2 minutes here)
    python bench/console.py --commands 50 --out bench/results/console_llvmpipe.json
    python bench/console.py --viewer socket         # no browser: a WebSocket viewer takes the mirror
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from console_run import ConsoleRun


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def frame_cpu(run: ConsoleRun, t0: float, t1: float) -> list[float]:
    return [ms for e in run.events() if e["kind"] == "frame_stats" and t0 <= e["t_s"] < t1 for ms in e["cpu_ms"]]


async def measure(run: ConsoleRun, count: int, gap_s: float) -> dict:
    import aiohttp

    seen: dict[float, float] = {}
    latencies, answers = [], []
    async with aiohttp.ClientSession() as http, http.ws_connect(run.base + "api/ws") as ws:
        async def watch() -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if data["type"] in ("hello", "state"):
                        level = data["state"].get("intensity_override")
                        if level is not None and level not in seen:
                            seen[level] = time.perf_counter()
        watcher = asyncio.ensure_future(watch())
        for i in range(count):
            level = round(0.05 + (i % 80) * 0.01 + (i // 80) * 0.001, 3)
            seen.pop(level, None)
            sent = time.perf_counter()
            async with http.post(run.base + "api/command", json={"command": "set_intensity", "value": level,
                                                                 "id": f"bench-{i}"}) as r:
                answer = await r.json()
            answered = time.perf_counter()
            assert answer["status"] in ("applied", "queued"), answer   # queued: not applied within 2 s
            while level not in seen and time.perf_counter() - sent < 5.0:
                await asyncio.sleep(0.001)
            latencies.append((seen[level] - sent) * 1000.0)
            answers.append((answered - sent) * 1000.0)
            await asyncio.sleep(gap_s)
        watcher.cancel()
    return {"effect_in_state_ms": {"p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95),
                                   "max": round(max(latencies), 2), "n": len(latencies)},
            "http_answer_ms": {"p50": pct(answers, 0.5), "p95": pct(answers, 0.95)}}


class Viewer:
    """Someone watching while the commands go: the page in Chromium (which renders everything it
    is sent) or a bare WebSocket client; each on a thread of its own until the block ends."""

    def __init__(self, run: ConsoleRun, kind: str, chromium: str | None) -> None:
        self.run, self.kind, self.chromium = run, kind, chromium
        self.pictures = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._page if kind == "chromium" else self._socket, daemon=True)

    def __enter__(self):
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the viewer never saw a mirror picture")
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)

    def _page(self) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=self.chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(self.run.url)
            page.wait_for_selector("#mirror[src^='blob:']", timeout=60_000)
            self._ready.set()
            while not self._stop.is_set():
                page.wait_for_timeout(200)   # the page keeps rendering what comes in
            browser.close()

    def _socket(self) -> None:
        import aiohttp

        async def watch() -> None:
            async with aiohttp.ClientSession() as http, http.ws_connect(self.run.base + "api/ws") as ws:
                while not self._stop.is_set():
                    try:
                        msg = await ws.receive(timeout=0.5)
                    except asyncio.TimeoutError:
                        continue
                    if msg.type == aiohttp.WSMsgType.BINARY:
                        self.pictures += 1
                        self._ready.set()
        asyncio.run(watch())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.15, help="seconds between commands")
    parser.add_argument("--size", default="960x540")
    parser.add_argument("--fps", type=float, default=30.0, help="session steps per frame: 1/fps seconds")
    parser.add_argument("--window", type=float, default=10.0, help="seconds of frames in each frame-cost window")
    parser.add_argument("--backend", choices=("desktop", "offscreen"), default="desktop",
                        help="desktop: the preview window, on a virtual display (Xvfb) when none is set, paced "
                             "by the window as a clinician's screen is; offscreen: the headless buffer")
    parser.add_argument("--viewer", choices=("chromium", "socket"), default="chromium",
                        help="who watches: the page in headless Chromium, or a bare WebSocket client "
                             "taking state and mirror (where no browser exists, e.g. a GPU machine)")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None and args.viewer == "chromium":
        sys.exit("bench/console.py: needs chromium (scripts/setup.sh --test installs it), or --viewer socket")
    xvfb = None
    display = None
    if args.backend == "desktop":
        display = os.environ.get("DISPLAY")
        if not display:
            if not shutil.which("Xvfb"):
                sys.exit("bench/console.py: --backend desktop needs a display or Xvfb (or use --backend offscreen)")
            display = ":87"
            xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "2048x2048x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
    with tempfile.TemporaryDirectory() as tmp:
        # Headless, Mesa's llvmpipe runs behind the frame loop (no window paces it), and the first
        # read-back of a mirror picture waits for all it owes; a window paces it as a screen does.
        run = ConsoleRun(Path(tmp) / "rec", "--no-dialogue", size=args.size, fps=args.fps, seconds=36000.0,
                         display=display)
        try:
            t = run.state()["t_s"]
            time.sleep(args.window)
            alone = (t, run.state()["t_s"])
            with Viewer(run, args.viewer, chromium):
                t = run.state()["t_s"]
                time.sleep(args.window)
                watched = (t, run.state()["t_s"])
                result = asyncio.run(measure(run, args.commands, args.gap))
                state = run.state()
        finally:
            run.stop()
        cpu_alone, cpu_watched = frame_cpu(run, *alone), frame_cpu(run, *watched)
        renderer = json.loads((Path(tmp) / "rec" / "session.json").read_text()).get("renderer")
    if xvfb is not None:
        xvfb.terminate()
    report = {
        "bench": "console", "backend": args.backend, "renderer": renderer, "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_count": __import__("os").cpu_count(), "size": args.size, "commands": args.commands,
        "gap_s": args.gap, "target_p95_ms": 100, "viewer": args.viewer, **result,
        "mirror_every_s": state.get("mirror_every_s"),
        "frame_cpu_ms": {"no_viewer_p50": pct(cpu_alone, 0.5), "watched_p50": pct(cpu_watched, 0.5),
                         "no_viewer_p95": pct(cpu_alone, 0.95), "watched_p95": pct(cpu_watched, 0.95),
                         "ratio_p50": round(statistics.median(cpu_watched) / statistics.median(cpu_alone), 3),
                         "frames": [len(cpu_alone), len(cpu_watched)]},
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
