"""A real ``vr run`` in a child process with its console, for the console's tests and benchmark.

On a network address the console speaks HTTPS: ``context`` then trusts the run's own certificate
authority (its ``ca.pem``, in the run's ``config_home``), as a tablet given that file does."""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ConsoleRun:
    """``vr run`` (offscreen, or a window on ``display``), its console on a free port; ``url`` is the
    printed address."""

    def __init__(self, out: Path, *extra: str, profile: str = "public_speaking", seconds: float = 900.0,
                 size: str = "320x240", fps: float = 30.0, host: str | None = None, display: str | None = None,
                 config_home: Path | None = None) -> None:
        self.out = out
        self.config_home = config_home or out.parent / "config"   # where the console keeps its certificate
        args = [sys.executable, "-m", "vr", "run", "--profile", profile,
                "--backend", "desktop" if display else "offscreen", "--seconds", str(seconds), "--size", size,
                "--fps", str(fps), "--out", str(out), "--console-port", "0", *extra]
        if host:
            args += ["--console-host", host]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "XDG_CONFIG_HOME": str(self.config_home)}
        if display:
            env.update(DISPLAY=display, ALSOFT_DRIVERS="null")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=env)
        self.lines: list[str] = []
        self.url = ""
        self.fingerprint: str | None = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            found = re.search(r"console: (https?://\S+)", line)
            if found:
                self.url = found.group(1)
                pin = re.search(r"\(certificate SHA-256 ([0-9A-F:]{95})\)", line)
                self.fingerprint = pin.group(1) if pin else None
                break
        if not self.url:
            self.proc.kill()
            raise RuntimeError("no console address printed:\n" + "".join(self.lines))
        self.base = self.url.split("?")[0]
        self.token = self.url.split("token=")[1] if "token=" in self.url else None
        self.context: ssl.SSLContext | None = None
        if self.url.startswith("https:"):
            self.context = ssl.create_default_context(cafile=str(self.config_home / "vr-exposure/console/ca.pem"))
        self.wait_for(lambda s: s.get("frame", 0) > 0, 120)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                token: bool = True) -> tuple[int, bytes]:
        headers = dict(headers or {})
        if token and self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        req = urllib.request.Request(self.base + path.lstrip("/"), data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.context) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def get(self, path: str) -> dict:
        status, body = self.request("GET", path)
        assert status == 200, (status, body)
        return json.loads(body)

    def command(self, **body) -> dict:
        status, answer = self.request("POST", "api/command", json.dumps(body).encode(),
                                      {"Content-Type": "application/json"})
        assert status == 200, (status, answer)
        return json.loads(answer)

    def state(self) -> dict:
        return self.get("api/state")

    def wait_for(self, test, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        state: dict = {}
        while time.monotonic() < deadline:
            try:
                state = self.state()
            except (OSError, AssertionError):
                state = {}
            if state and test(state):
                return state
            time.sleep(0.05)
        raise AssertionError(f"state never matched; last: {json.dumps(state)[:400]}")

    def events(self) -> list[dict]:
        """The record's events, as written so far."""
        path = self.out / "events.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def stop(self, timeout: float = 60.0) -> str:
        """Stop the session through the console and wait for the run to end; returns its output."""
        if self.proc.poll() is None:
            try:
                self.command(command="stop", id="test-stop")
            except (OSError, AssertionError):
                pass
            try:
                rest, _ = self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rest, _ = self.proc.communicate()
            self.lines.append(rest or "")
        return "".join(self.lines)
