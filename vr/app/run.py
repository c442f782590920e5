"""``vr run`` / ``vr preview`` / ``vr demo``: a rendered session on a screen backend.

The same frame loop serves the headless (offscreen) run and the desktop preview; only the
backend and the input source differ.
"""

from __future__ import annotations

import os
import signal
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
                 batched: bool = True, on_loop=None, xr_scale: float = 1.0, dialogue: bool = True,
                 phase_scale: float = 1.0, console=None, stop_requested=None, hearing=None,
                 pace_hz: float | None = None, voices: str = "auto", lab=None) -> RunResult:
    """Run a rendered session.

    ``backend_kind``: 'offscreen' (headless, synthetic patient), 'desktop' (you, in a window) or
    'openxr' (a patient in a headset; the window mirrors the left eye and shows the clinician's panel).
    ``dialogue``: the humans speak vetted lines of the scene's bank, through a worker process.
    ``phase_scale``: offscreen distraction runs: the simulated procedure's phases last this share
    of their expected length (0.05 for a quick look).
    ``console``: a ``ConsoleOptions`` to serve the clinician console (``docs/console.md``), or None.
    ``stop_requested``: a callable the frame loop asks once a frame; a reason it returns (from a
    signal, ``vr.app.cli_common.stop_on_signals``) ends the session cleanly with that reason.
    ``hearing``: a ``vr.app.hearing.HearingOptions`` to hear the patient (a microphone, a WAV file
    or a clip folder; ``docs/listening.md``), or None. Its ``keep_audio``, when set, must be a
    folder inside ``out`` (the record's ``audio/``).
    ``pace_hz``: offscreen runs: frames paced to a display of this refresh rate, on the wall
    clock (as a headset paces them), instead of ``fps`` frames per simulated second as fast as
    they render; the record's ``frame_stats`` then count missed display slots.
    ``voices``: the humans' speech engine: 'auto' (espeak-ng) or 'neural' (``docs/voices.md``).
    ``lab``: a ``vr.backends.lsl.LabOptions`` (heart rate and skin conductance over LSL, the
    marker and head-pose outlet; ``docs/lab.md``), or None.
    """
    from vr.sim.procedure import SimulatedProcedure, new_session
    from vr.dialogue.bank import bank_for_scene, bank_path, line_bands, vetted_lines
    from vr.render.hud import Hud
    from vr.render.world_view import WorldView

    profile = loaded.config
    distraction = getattr(loaded, "distraction", False)
    if distraction:  # the companion speaks; nobody else is there
        bank = bank_for_scene("companion") if (dialogue and profile.companion.enabled) else None
    else:
        bank = bank_for_scene(profile.scene) if dialogue else None
    session = new_session(loaded, seed, lines=vetted_lines(bank), bands=line_bands(bank))
    hub = None
    if console is not None or bank is not None:
        _tracker_deaf_to_hangup()
    if console is not None:  # first: its address is shown while the rest starts
        from vr.console import start_console

        hub = start_console(console, profile, session, bank, pseudonym)
    # The worker loads its model while the window and the scene are built (it is its own process).
    try:
        worker = _worker(bank, seed, timeout_s=10.0 if backend_kind == "offscreen" else None,
                         tts_engine=voices) if bank else None
    except BaseException:
        if hub is not None:
            hub.close()
        raise
    ears = None
    try:
        if hearing is not None:  # its model loads in its own process while the scene is built
            from vr.app.hearing import Hearing

            ears = Hearing(hearing)
        backend = _open_backend(backend_kind, session, size, xr_scale, f"vr - {profile.name}",
                                pace_hz if backend_kind == "offscreen" else None)
    except BaseException:
        if ears is not None:
            ears.close()
        if worker is not None:
            worker.close()
        if hub is not None:
            hub.close()
        raise
    hud = None
    source = None
    panel = None
    talk = None
    streams = None
    loop_ref: list[FrameLoop] = []
    try:
        scenes = {profile.scene: loaded.scene.config, profile.safety.safe_scene: loaded.safe_scene.config}
        ambience = None
        on_screen = backend_kind == "desktop" or (backend_kind == "openxr" and not backend.headless)
        if on_screen:
            from vr.render.ambience import AmbiencePlayer

            ambience = AmbiencePlayer(backend.base.loader)
        if distraction:
            from vr.render.play_view import PlayView

            sounds = None
            if on_screen:
                from vr.render.game_sounds import GameSounds

                sounds = GameSounds(backend.base.loader)
            view = PlayView(backend.base.render, backend.overlay, loaded, session, batched=batched, ambience=ambience,
                            sounds=sounds)
        else:
            view = WorldView(backend.base.render, backend.overlay, scenes, session.human_seed, session.height_m,
                             batched=batched, ambience=ambience, avatars=loaded.scene.avatar_files)
        if on_screen:
            hud = Hud(backend.base, profile.name, len(profile.phases) if distraction else len(profile.steps))
        extra: dict = {"window": list(size), **({"kind": "distraction"} if distraction else {})}
        if backend_kind in ("openxr", "desktop"):   # the patient answers ratings on a panel in the scene
            from vr.render.rating_panel import RatingPanelView

            panel = (RatingPanelView(backend.base.render) if backend_kind == "openxr" else
                     RatingPanelView(backend.base.render, RatingPanelView.DESKTOP_HINT, backend.base.aspect2d, hud))
        if backend_kind == "openxr":
            from vr.app.headset import HeadsetSource
            from vr.app.inputs import ClinicianKeys

            keys = None
            if hud is not None:  # the mirror window takes the clinician's keys, as the preview does
                keys = ClinicianKeys(backend.base, on_help=hud.toggle_help,
                                     on_quit=lambda: loop_ref[0].finish("stopped_by_clinician"), hud=hud,
                                     on_words=lambda text: loop_ref[0].say(text), distraction=distraction)
            source = HeadsetSource(backend, session.head, keys)
            options = LoopOptions(seconds=seconds, screenshots=screenshots, screenshot_every_s=screenshot_every_s)
        elif backend_kind == "desktop":
            from vr.app.inputs import DesktopControls

            source = DesktopControls(backend.base, session.head, on_help=hud.toggle_help,
                                     on_quit=lambda: loop_ref[0].finish("stopped_by_clinician"), hud=hud,
                                     on_words=lambda text: loop_ref[0].say(text), distraction=distraction)
            options = LoopOptions(seconds=seconds, screenshots=screenshots, screenshot_every_s=screenshot_every_s)
        else:
            from vr.app.inputs import PatientSource

            source = (SimulatedProcedure(loaded, session, seed, time_scale=phase_scale) if distraction else
                      PatientSource(SyntheticPatient(patient or PatientParams(), seed, session.head)))
            options = LoopOptions(virtual_fps=None if pace_hz else fps, seconds=seconds, screenshots=screenshots,
                                  screenshot_every_s=screenshot_every_s)
        extra.update(backend.describe())
        attachments = record_files(loaded)
        if bank is not None:
            talk = _dialogue(worker, bank, session, backend, view, backend_kind)
            attachments["lines.yaml"] = (bank_path(bank.name)).read_bytes()
            extra["lines"] = {"name": bank.name, "sha256": bank.sha256, "method": talk.worker.spec["prefer"],
                              "voices": voices}
        extra["listening"] = ears.describe() if ears is not None else False
        if lab is not None:   # its inlets resolve on their own threads: nothing here waits for a device
            from vr.backends.lsl import Lab

            streams = Lab(lab.specs, outlet=lab.outlet, rate_hz=1.0 / LoopOptions.step_s)
            extra["lab"] = streams.describe()
        alerts: list = []
        writer = SessionWriter(out, record_meta(loaded, pseudonym=pseudonym, backend=backend_kind, seed=seed, **extra),
                               on_error=lambda message: (alerts[0].append(message) if alerts else None),
                               attachments=attachments)
        tally = Tally(loaded, seed)
        loop = FrameLoop(backend, session, view, writer, source, tally, options, hud, dialogue=talk, console=hub,
                         stop_requested=stop_requested, hearing=ears, overlays=(panel,) if panel is not None else (),
                         lab=streams)
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
            heard = {"listened": ears.close()} if ears is not None else {}   # kept audio is on disk before the end mark
            if streams is not None:
                heard["lab"] = {**streams.describe(), "received": streams.close()}
            writer.close(events=tally.summary.events, ended=tally.summary.ended or "interrupted",
                         session_s=round(session.t_s, 3), frames=loop.frames, **heard)
        return RunResult(tally.summary, loop.frames, loop.screenshots, ended)
    finally:
        if ears is not None:
            ears.close()
        if streams is not None:
            streams.close()
        if hub is not None:
            hub.close()
        if talk is not None:
            talk.close()
            if talk.player is not None:
                talk.player.destroy()
        elif worker is not None:
            worker.close()
        if hud is not None:
            hud.destroy()
        if source is not None and hasattr(source, "destroy"):
            source.destroy()
        if panel is not None:
            panel.destroy()
        backend.close()


def _tracker_deaf_to_hangup() -> None:
    """Start multiprocessing's resource tracker (the helper its child processes share) with the
    hang-up signal blocked, which it inherits: it ignores Ctrl-C and SIGTERM by itself but not a
    closed terminal's SIGHUP, which reaches every process of the terminal at once, and it would
    die mid-session. (The console and the dialogue worker ignore SIGINT and SIGHUP themselves;
    the session ends them through their pipes after its own clean end.)"""
    if not (hasattr(signal, "SIGHUP") and hasattr(signal, "pthread_sigmask")):
        return
    from multiprocessing import resource_tracker

    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        resource_tracker.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _worker(bank, seed: int, timeout_s: float | None, tts_engine: str = "auto"):
    """The dialogue worker process for ``bank``. Offscreen runs keep no patient waiting, so they
    give it longer before falling back to generic lines."""
    from vr.dialogue.bank import DIALOGUE_DIR
    from vr.dialogue.embed import default_cache_dir
    from vr.dialogue.worker import TIMEOUT_S, DialogueWorker

    return DialogueWorker({bank.name: bank}, seed=seed, cache_dir=default_cache_dir(), bank_dir=DIALOGUE_DIR,
                          timeout_s=timeout_s or TIMEOUT_S, tts_engine=tts_engine)


def _dialogue(worker, bank, session: Session, backend, view, backend_kind: str):
    """A voice per human, and 3D speech heard at the patient's head."""
    from vr.app.dialogue_client import DialogueClient
    from vr.dialogue.embed import default_cache_dir
    from vr.dialogue.voices import Voice
    from vr.render.speech_audio import SpeechPlayer

    cache = default_cache_dir()
    voices = {hid: Voice.from_seed(int(s)) for hid, s in zip(session.ids, session.human_seed)}
    player = SpeechPlayer(backend.base, backend.listener_node())
    return DialogueClient(worker, bank.name, voices, player=player, view=view, cache_dir=cache)


def _open_backend(kind: str, session: Session, size: tuple[int, int], xr_scale: float, title: str,
                  pace_hz: float | None = None):
    if kind == "openxr":
        from vr.backends.openxr.backend import OpenXRBackend

        return OpenXRBackend(start=session.head, mirror_size=size, scale=xr_scale, title=title)
    from vr.backends.screen import ScreenBackend

    return ScreenBackend(kind, size, title=title, pace_hz=pace_hz)
