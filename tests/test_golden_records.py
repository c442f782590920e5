"""The same seed and inputs give the same record, byte for byte, across changes to the code.

Each case runs ``vr.app.simulate.run_simulation`` (the session core, a synthetic patient or a
simulated procedure, the recorder) and compares the SHA-256 of ``events.jsonl`` and
``inputs.jsonl`` with the digests in ``tests/data/golden_records.json``. A change that alters
what a session decides or records fails here. When such a change is meant (a new event, a fixed
rule), write the new digests on purpose and say why in the commit:

    .venv/bin/python tests/test_golden_records.py --write
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden_records.json"

# name: (profile, seconds, seed, {step number: [(command, value, text)]})
CASES = {
    "interview_with_commands": ("job_interview.yaml", 240.0, 3, {
        300: [("step_up", None, "")], 900: [("set_intensity", 0.9, "")], 1500: [("pause", None, "")],
        1800: [("resume", None, "")], 2400: [("panic", None, "")], 3000: [("resume", None, "")],
        3600: [("ask_rating", None, "suds")], 4200: [("goto_step", 4, "")]}),
    "public_speaking": ("public_speaking.yaml", 300.0, 11, {}),
    "crowded_lift": ("crowded_lift.yaml", 180.0, 5, {1200: [("step_up", None, ""), ("step_up", None, "")]}),
    "burn_dressing": ("burn_dressing_snow.yaml", 240.0, 2, {}),
    "needle_reef": ("needle_reef.yaml", 120.0, 4, {600: [("panic", None, "")], 900: [("resume", None, "")]}),
}


def record_digests(name: str, out: Path) -> dict[str, str]:
    from vr.app.simulate import run_simulation
    from vr.config import load_profile
    from vr.sim import Command

    profile, seconds, seed, commands = CASES[name]
    loaded = load_profile(ROOT / "exposure_profiles" / profile)
    at = {k: [Command(c, value=v, text=t, source="test") for c, v, t in cmds] for k, cmds in commands.items()}
    run_simulation(loaded, seconds=seconds, seed=seed, out=out, pseudonym="G-01", commands_at=at)
    return {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in ("events.jsonl", "inputs.jsonl")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_record_is_byte_identical_to_the_golden_one(name, tmp_path):
    golden = json.loads(GOLDEN.read_text())
    assert name in golden, f"no golden digest for {name}: run tests/test_golden_records.py --write"
    assert record_digests(name, tmp_path / "rec") == golden[name]


def test_the_same_seed_twice_gives_the_same_bytes(tmp_path):
    assert record_digests("interview_with_commands", tmp_path / "a") == \
        record_digests("interview_with_commands", tmp_path / "b")


if __name__ == "__main__":
    import tempfile

    if "--write" not in sys.argv:
        raise SystemExit("usage: python tests/test_golden_records.py --write   (rewrites tests/data/golden_records.json)")
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        digests = {name: record_digests(name, Path(tmp) / name) for name in sorted(CASES)}
    GOLDEN.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}: {len(digests)} cases")
