"""``vr simulate``: the session core and a synthetic patient in a plain loop, no engine, as fast as it goes.

Steps 3-4 of the frame (inputs, ``Session.step``) with the synthetic patient standing in for the
headset, and the recorder writing the same session record a real run writes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from vr.app.summary import RunSummary, Tally, record_files, record_meta
from vr.config import LoadedProfile
from vr.record import SessionWriter
from vr.sim import PatientParams, SyntheticPatient


def run_simulation(loaded: LoadedProfile, *, seconds: float, seed: int, out: Path, pseudonym: str,
                   patient: PatientParams | None = None, rate_hz: float = 30.0,
                   commands_at: dict[int, list] | None = None,
                   stop_requested: Callable[[], str] | None = None) -> RunSummary:
    """Run ``seconds`` of simulated session time and write the record to ``out``.

    ``commands_at`` maps a step number to clinician commands injected then (tests use it).
    ``stop_requested``: asked before every step; a reason it returns (e.g. 'terminated', from a
    signal) ends the session there, cleanly, with that reason.
    """
    from vr.sim.procedure import SimulatedProcedure, new_session

    session = new_session(loaded, seed)
    if getattr(loaded, "distraction", False):
        player = SimulatedProcedure(loaded, session, seed)
        about = {"kind": "distraction", "simulated_player": vars(player.player.p)}
    else:
        player = SyntheticPatient(patient or PatientParams(), seed, session.head)
        about = {"synthetic_patient": vars(player.p)}
    dt = 1.0 / rate_hz
    tally = Tally(loaded, seed)
    writer = SessionWriter(out, record_meta(loaded, pseudonym=pseudonym, backend="simulate", seed=seed,
                                            rate_hz=rate_hz, **about),
                           on_error=lambda message: print(f"warning: {message}", file=sys.stderr),
                           attachments=record_files(loaded))
    started = time.perf_counter()
    world = None
    ended = "run_finished"
    try:
        for k in range(int(round(seconds * rate_hz))):
            if stop_requested is not None and stop_requested():
                ended = stop_requested()
                break
            inputs = player.act(world, dt)
            if commands_at and k in commands_at:
                inputs = inputs.plus(commands=tuple(commands_at[k]))
            world, events = session.step(inputs, dt)
            writer.write_inputs(inputs, dt)
            writer.write(events)
            tally.add(world, events, dt)
            if world.mode == "ended":
                break
        final = session.end(ended)
        writer.write(final)
        tally.finish(final)
    finally:
        tally.summary.wall_s = time.perf_counter() - started
        writer.close(events=tally.summary.events, ended=tally.summary.ended or "interrupted",
                     simulated_s=round(session.t_s, 3))
    return tally.summary
