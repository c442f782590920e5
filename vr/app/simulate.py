"""``vr simulate``: the session core and a synthetic patient in a plain loop, no engine, as fast as it goes.

The frame's inputs and step stages only: the synthetic patient (or a simulated procedure)
stands in for the headset, and the same :class:`vr.app.drive.Drive` as the frame loop's steps
the session and sends its events to the record and the summary.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from vr.app.drive import Drive, EventBus, RecordSink, TallySink, run_steps
from vr.app.inputs import PatientSource
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
    drive = Drive(session, writer, EventBus(RecordSink(writer), TallySink(tally)))
    source = player if isinstance(player, SimulatedProcedure) else PatientSource(player)

    def inject(k: int, inputs):
        return inputs.plus(commands=tuple(commands_at[k])) if commands_at and k in commands_at else inputs

    started = time.perf_counter()
    try:
        ended = run_steps(drive, source, dt, int(round(seconds * rate_hz)), inject=inject,
                          stop_requested=stop_requested)
        drive.end(ended or "run_finished")
    finally:
        tally.summary.wall_s = time.perf_counter() - started
        writer.close(events=tally.summary.events, ended=tally.summary.ended or "interrupted",
                     simulated_s=round(session.t_s, 3))
    return tally.summary
