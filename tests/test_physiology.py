"""Body samples in the session: the shared input type, the body rules, the synthetic physiology."""

from __future__ import annotations

import json

from vr.record.replay import load_inputs
from vr.record.writer import encode_inputs
from vr.sim.types import FrameInputs, HeadPose, PhysioSample

HEAD = HeadPose((0.0, 1.6, 0.0))


def test_physio_samples_are_kept_when_steps_merge():
    a = FrameInputs(HEAD, physio=(PhysioSample("hr", 71.5, 0.1, "polar"),))
    b = FrameInputs(HEAD, physio=(PhysioSample("eda", 2.25, 0.15, "shimmer"),))
    assert a.then(b).physio == a.physio + b.physio
    assert FrameInputs(HEAD).plus(physio=a.physio).physio == a.physio
    assert a.eventful and not FrameInputs(HEAD).eventful


def test_physio_round_trips_through_inputs_jsonl(tmp_path):
    plain = FrameInputs(HEAD)
    with_body = FrameInputs(HEAD, physio=(PhysioSample("hr", 88.125, 3.0, "synthetic"),
                                          PhysioSample("eda", 4.0625, 3.05, "synthetic")))
    line_plain, line_body = encode_inputs(plain, 0.05), encode_inputs(with_body, 0.05)
    assert len(json.loads(line_plain)) == 7   # no physiology: no eighth element, as before
    assert json.loads(line_body)[7]["p"] == [["hr", 88.125, 3.0, "synthetic"], ["eda", 4.0625, 3.05, "synthetic"]]
    (tmp_path / "inputs.jsonl").write_bytes(line_plain + line_body)
    (back_plain, _), (back_body, dt) = load_inputs(tmp_path)
    assert back_plain == plain and back_body == with_body and dt == 0.05
