"""``vr replay DIR``: watch a recorded session again, re-run from its seed and logged inputs.

The recorded head pose drives the camera, so the replay shows what the patient saw. On the
desktop: Space pauses, + and - change the speed, Left and Right seek 10 s, Esc ends. Offscreen it
plays through once at the recorded pace and saves pictures (``--screenshots``). Seeking back
re-runs the session from the start without drawing (fast: the core runs far quicker than real
time), so every frame shown is exactly the recorded session's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

SEEK_S = 10.0


class Replayer:
    """A re-run session that can be advanced to any session time."""

    def __init__(self, directory: Path) -> None:
        from vr.record.replay import load_inputs, load_recorded_profile

        self.directory = directory
        self.meta = json.loads((directory / "session.json").read_text(encoding="utf-8"))
        self.loaded = load_recorded_profile(directory)
        self.inputs = load_inputs(directory)
        self.duration_s = sum(dt for _, dt in self.inputs)
        self._restart()

    def _restart(self) -> None:

        from vr.sim.procedure import new_session
        from vr.record.replay import recorded_lines

        texts, bands = recorded_lines(self.directory, self.meta)
        self.session = new_session(self.loaded, int(self.meta["seed"]), lines=texts, bands=bands)
        self.k = 0
        self.world = None

    def advance_to(self, t_s: float):
        """The world at session time ``t_s`` (re-running from the start when going back)."""
        if self.world is not None and t_s < self.world.t_s - 1e-9:
            self._restart()
        while self.k < len(self.inputs) and (self.world is None or self.world.t_s < t_s - 1e-9):
            inputs, dt = self.inputs[self.k]
            self.world, _ = self.session.step(inputs, dt)
            self.k += 1
        return self.world

    @property
    def finished(self) -> bool:
        return self.k >= len(self.inputs)


def replay_rendered(args: argparse.Namespace) -> int:
    from vr.app.run import display_available
    from vr.backends.screen import ScreenBackend
    from vr.record import RecordError
    from vr.render.rating_panel import RatingPanelView
    from vr.render.world_view import WorldView

    directory = Path(args.dir)
    try:
        replayer = Replayer(directory)
    except (RecordError, OSError, KeyError, ValueError) as e:
        print(f"vr replay: {e}", file=sys.stderr)
        return 1
    kind = args.backend
    if kind == "auto":
        kind = "desktop" if display_available() else "offscreen"
    if kind == "desktop" and not display_available():
        print("vr replay: no display for a window; use --backend offscreen --screenshots DIR", file=sys.stderr)
        return 2
    try:
        size = tuple(int(v) for v in args.size.lower().split("x"))
        backend = ScreenBackend(kind, size, title=f"vr replay - {directory.name}")
    except (RuntimeError, ValueError) as e:
        print(f"vr replay: {e}", file=sys.stderr)
        return 1
    profile = replayer.loaded.config
    scenes = {profile.scene: replayer.loaded.scene.config,
              profile.safety.safe_scene: replayer.loaded.safe_scene.config}
    session = replayer.session
    view = WorldView(backend.base.render, backend.overlay, scenes, session.human_seed, session.height_m)
    # The rating panel as the patient saw it: its marker, dwell and answer come back from the record.
    rating_view = RatingPanelView(backend.base.render, "The patient's answer, as recorded")
    state = {"t": max(args.start, 0.0), "speed": max(args.speed, 0.05), "paused": False, "done": False}
    base = backend.base
    if kind == "desktop":
        base.accept("space", lambda: state.update(paused=not state["paused"]))
        base.accept("+", lambda: state.update(speed=min(state["speed"] * 2, 16.0)))
        base.accept("=", lambda: state.update(speed=min(state["speed"] * 2, 16.0)))
        base.accept("shift-=", lambda: state.update(speed=min(state["speed"] * 2, 16.0)))
        base.accept("-", lambda: state.update(speed=max(state["speed"] / 2, 0.125)))
        base.accept("arrow_right", lambda: state.update(t=min(state["t"] + SEEK_S, replayer.duration_s)))
        base.accept("arrow_left", lambda: state.update(t=max(state["t"] - SEEK_S, 0.0)))
        base.accept("escape", lambda: state.update(done=True))
    panel = None
    if kind == "desktop":
        from direct.gui.OnscreenText import OnscreenText
        from panda3d.core import TextNode

        panel = OnscreenText(parent=base.a2dTopLeft, pos=(0.04, -0.08), scale=0.045, align=TextNode.ALeft,
                             fg=(1, 1, 1, 1), bg=(0, 0, 0, 0.55), mayChange=True)
    steps = sorted(dt for _, dt in replayer.inputs)
    step = steps[len(steps) // 2] if steps else 1 / 30  # the recorded frame interval
    shots = Path(args.screenshots) if args.screenshots else None
    next_shot = state["t"]
    frames = 0
    last = time.perf_counter()
    try:
        while not state["done"]:
            now = time.perf_counter()
            if kind == "desktop":
                if not state["paused"]:
                    state["t"] = min(state["t"] + (now - last) * state["speed"], replayer.duration_s)
            else:
                state["t"] += step
            last = now
            world = replayer.advance_to(state["t"])
            if world is not None:
                if panel is not None:
                    panel.setText(f"replay {directory.name}   {_clock(world.t_s)} / {_clock(replayer.duration_s)}   "
                                  f"speed {state['speed']:g}x{'   PAUSED' if state['paused'] else ''}\n"
                                  f"step {world.step_index + 1}: {world.step_name}   {world.mode}   "
                                  f"last SUDS {'-' if world.last_suds is None else f'{world.last_suds:.0f}'}\n"
                                  "Space pause   +/- speed   Left/Right 10 s   Esc end")
                view.apply(world, step, world.head.position_m[:2])
                rating_view.apply(world, step)
                backend.place_camera(world.head)
                backend.set_clear_color(view.clear_color)
            base.taskMgr.step()
            frames += 1
            if shots is not None and world is not None and world.t_s >= next_shot:
                backend.screenshot(shots / f"replay_t{world.t_s:07.1f}s.png")
                next_shot += args.screenshot_every
            if kind == "offscreen" and replayer.finished:
                break
    finally:
        if panel is not None:
            panel.destroy()
        view.destroy()
        backend.close()
    print(f"replayed {replayer.duration_s:.1f} s of {directory.name} in {frames} frames")
    return 0


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{seconds % 60:04.1f}"
