"""``vr run`` / ``vr preview`` / ``vr demo``: a rendered session on a screen backend.

The same frame loop serves the headless (offscreen) run and the desktop preview; only the
backend and the input source differ.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from vr.app.runner import FrameLoop, LoopOptions
from vr.app.summary import RunSummary, Tally, record_files, record_meta
from vr.config import LoadedProfile
from vr.record import SessionWriter
from vr.sim import PatientParams, Session, SyntheticPatient


@dataclass
class RunResult:
    summary: RunSummary
    frames: int
    screenshots: list[Path]
    ended: str


def display_available() -> bool:
    """Whether a desktop window can open here (an X or Wayland display, or Windows/macOS)."""
    return os.name == "nt" or os.uname().sysname == "Darwin" or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_rendered(loaded: LoadedProfile, *, backend_kind: str, seconds: float | None, seed: int, out: Path,
                 pseudonym: str, screenshots: Path | None = None, size: tuple[int, int] = (960, 540),
                 fps: float = 30.0, patient: PatientParams | None = None, screenshot_every_s: float = 10.0,
                 batched: bool = True, on_loop=None, xr_scale: float = 1.0) -> RunResult:
    """Run a rendered session.

    ``backend_kind``: 'offscreen' (headless, synthetic patient), 'desktop' (you, in a window) or
    'openxr' (a patient in a headset; the window mirrors the left eye and shows the clinician's panel).
    """
    from vr.render.hud import Hud
    from vr.render.world_view import WorldView

    profile = loaded.config
    session = Session(profile, loaded.scene.config, seed)
    backend = _open_backend(backend_kind, session, size, xr_scale, f"vr - {profile.name}")
    hud = None
    source = None
    loop_ref: list[FrameLoop] = []
    try:
        scenes = {profile.scene: loaded.scene.config, profile.safety.safe_scene: loaded.safe_scene.config}
        ambience = None
        on_screen = backend_kind == "desktop" or (backend_kind == "openxr" and not backend.headless)
        if on_screen:
            from vr.render.ambience import AmbiencePlayer

            ambience = AmbiencePlayer(backend.base.loader)
        view = WorldView(backend.base.render, backend.overlay, scenes, session.human_seed, session.height_m,
                         batched=batched, ambience=ambience)
        if on_screen:
            hud = Hud(backend.base, profile.name, len(profile.steps))
        extra: dict = {"window": list(size)}
        if backend_kind == "openxr":
            from vr.app.headset import HeadsetSource
            from vr.app.inputs import ClinicianKeys

            keys = None
            if hud is not None:  # the mirror window takes the clinician's keys, as the preview does
                keys = ClinicianKeys(backend.base, on_help=hud.toggle_help,
                                     on_quit=lambda: loop_ref[0].finish("stopped_by_clinician"))
            source = HeadsetSource(backend, session.head, keys)
            options = LoopOptions(seconds=seconds, screenshots=screenshots, screenshot_every_s=screenshot_every_s)
            from vr.backends.openxr.gl import FORMAT_NAMES

            chain = backend.xr.swapchains[0]
            extra.update(renderer=backend.gl_info["renderer"], headset=backend.info.to_dict(),
                         eye_size=[list(s) for s in backend.eye_sizes], tracking_space=backend.xr.space_kind,
                         swapchain_format=FORMAT_NAMES.get(chain.format, hex(chain.format)))
        elif backend_kind == "desktop":
            from vr.app.inputs import DesktopControls

            source = DesktopControls(backend.base, session.head, on_help=hud.toggle_help,
                                     on_quit=lambda: loop_ref[0].finish("stopped_by_clinician"))
            options = LoopOptions(seconds=seconds, screenshots=screenshots, screenshot_every_s=screenshot_every_s)
            extra["renderer"] = backend.base.win.getGsg().getDriverRenderer()
        else:
            from vr.app.inputs import PatientSource

            source = PatientSource(SyntheticPatient(patient or PatientParams(), seed, session.head))
            options = LoopOptions(virtual_fps=fps, seconds=seconds, screenshots=screenshots,
                                  screenshot_every_s=screenshot_every_s)
            extra["renderer"] = backend.base.win.getGsg().getDriverRenderer()
        alerts: list = []
        writer = SessionWriter(out, record_meta(loaded, pseudonym=pseudonym, backend=backend_kind, seed=seed, **extra),
                               on_error=lambda message: (alerts[0].append(message) if alerts else None),
                               attachments=record_files(loaded))
        tally = Tally(loaded, seed)
        loop = FrameLoop(backend, session, view, writer, source, tally, options, hud)
        alerts.append(loop.disk_alerts)
        loop_ref.append(loop)
        if on_loop is not None:
            on_loop(loop)
        started = time.perf_counter()
        try:
            ended = loop.run()
        finally:
            if not loop.done:
                loop.finish("interrupted")
            tally.summary.wall_s = time.perf_counter() - started
            writer.close(events=tally.summary.events, ended=tally.summary.ended or "interrupted",
                         session_s=round(session.t_s, 3), frames=loop.frames)
        return RunResult(tally.summary, loop.frames, loop.screenshots, ended)
    finally:
        if hud is not None:
            hud.destroy()
        if source is not None and hasattr(source, "destroy"):
            source.destroy()
        backend.close()


def _open_backend(kind: str, session: Session, size: tuple[int, int], xr_scale: float, title: str):
    if kind == "openxr":
        from vr.backends.openxr.backend import OpenXRBackend

        return OpenXRBackend(start=session.head, mirror_size=size, scale=xr_scale, title=title)
    from vr.backends.screen import ScreenBackend

    return ScreenBackend(kind, size, title=title)
