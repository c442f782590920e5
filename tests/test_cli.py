"""The ``vr`` command as a clinician or researcher meets it: exit codes, messages, schema, docs."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from conftest import ROOT
from vr.cli import main
from vr.config.schema import json_schema, markdown_reference
from vr.config.yamlsrc import read_yaml


def vr(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "vr", *args], capture_output=True, text=True, cwd=cwd)


def test_validate_exit_codes_and_output(tmp_path):
    ok = vr("validate", str(ROOT / "exposure_profiles"), str(ROOT / "scenes"))
    assert ok.returncode == 0 and ok.stderr == "" and "public_speaking.yaml: ok (profile)" in ok.stdout
    bad = tmp_path / "p.yaml"
    bad.write_text("schema_version: 1\nname: x\nscene: auditorium\nsteps:\n  - name: a\n    humans: -1\n")
    out = vr("validate", str(bad), "--scenes", str(ROOT / "scenes"))
    assert out.returncode == 1 and f"{bad}:6:5: steps[0].humans: -1 is below" in out.stderr
    assert "needs at least 1 entry" not in out.stderr
    assert "Traceback" not in out.stderr
    missing = vr("validate", str(tmp_path / "none.yaml"))
    assert missing.returncode == 1 and "none.yaml: file not found" in missing.stderr
    (tmp_path / "empty").mkdir()
    assert vr("validate", str(tmp_path / "empty")).returncode == 2


def test_json_schema_accepts_shipped_files_and_rejects_mistakes():
    for kind, folder in (("profile", "exposure_profiles"), ("scene", "scenes"), ("lines", "dialogue")):
        for path in sorted((ROOT / folder).glob("*.yaml")):
            data = json.loads(json.dumps(read_yaml(path).data))
            schema = json_schema("distraction" if data.get("kind") == "distraction" and kind == "profile" else kind)
            jsonschema.Draft202012Validator.check_schema(schema)
            errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
            assert not errors, f"{path.name}: {errors[0].message}"
    profile = json.loads(json.dumps(read_yaml(ROOT / "exposure_profiles" / "public_speaking.yaml").data))
    profile["steps"][1]["humnas"] = 3
    profile["steps"][2]["mood"] = "grumpy"
    assert len(list(jsonschema.Draft202012Validator(json_schema("profile")).iter_errors(profile))) == 2


def test_schema_command_writes_json(tmp_path, capsys):
    assert main(["schema", "--kind", "scene", "--out", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["title"] == "SceneConfig"


def test_parameter_reference_is_up_to_date():
    text = (ROOT / "docs" / "profiles.md").read_text(encoding="utf-8")
    assert text == markdown_reference(), "run: vr schema --markdown --out docs/profiles.md"
    for key in ("min_distance_m", "mutual_dwell_s", "suds_at_most", "Binetti", "Hall"):
        assert key in text


def test_simulate_reports_bad_input_clearly(tmp_path):
    out = vr("simulate", "--profile", "nope.yaml", "--seconds", "5", "--out", str(tmp_path / "a"))
    assert out.returncode == 1 and "nope.yaml: file not found" in out.stderr
    out = vr("simulate", "--profile", str(ROOT / "exposure_profiles" / "job_interview.yaml"),
             "--patient", "bravery=3", "--out", str(tmp_path / "b"))
    assert out.returncode == 2 and "unknown patient parameter 'bravery'" in out.stderr
    out = vr("simulate", "--profile", str(ROOT / "exposure_profiles" / "job_interview.yaml"),
             "--pseudonym", "John Smith", "--out", str(tmp_path / "c"))
    assert out.returncode == 2 and "not a pseudonym" in out.stderr and not (tmp_path / "c").exists()


def test_demo_runs_from_any_folder(tmp_path):
    out = vr("demo", "--seconds", "60", "--out", str(tmp_path / "demo"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Public speaking" in out.stdout and (tmp_path / "demo" / "events.jsonl").stat().st_size > 0


@pytest.mark.parametrize("args", [[], ["--help"], ["simulate", "--help"]])
def test_help_is_available(args):
    out = vr(*args)
    assert "vr" in out.stdout and out.returncode in (0, 2)


def test_the_tour_finds_the_patient_its_folder_is_named_for(tmp_path):
    # README's tour: `vr simulate ... --out sessions/P-0001_try` (no --pseudonym), then
    # `vr report --patient P-0001 sessions` must find that session.
    profile = str(ROOT / "exposure_profiles" / "demo_tour.yaml")
    out = vr("simulate", "--profile", profile, "--seconds", "30", "--out", "sessions/P-0001_try", "-q", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "sessions" / "P-0001_try" / "session.json").read_text())["patient"] == "P-0001"
    report = vr("report", "--patient", "P-0001", "sessions", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "sessions" / "course_P-0001.html").is_file()
    # a folder named for one patient never holds another's session
    clash = vr("simulate", "--profile", profile, "--seconds", "5", "--pseudonym", "P-0002",
               "--out", "sessions/P-0001_second", cwd=tmp_path)
    assert clash.returncode == 2 and "named for P-0001 but --pseudonym is P-0002" in clash.stderr
    assert not (tmp_path / "sessions" / "P-0001_second").exists()
    # a folder not named by a pseudonym keeps the default
    plain = vr("simulate", "--profile", profile, "--seconds", "5", "--out", "sessions/dry_run", "-q", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert json.loads((tmp_path / "sessions" / "dry_run" / "session.json").read_text())["patient"] == "SIM-0001"


def test_vr_say_counts_steps_from_zero(capsys):
    from vr.config import load_profile
    from vr.sim.params import resolve

    profile = load_profile(ROOT / "exposure_profiles" / "job_interview.yaml").config
    for index in (0, len(profile.steps) - 1):
        assert main(["say", "--profile", "job_interview", "--lexical", "--step", str(index), "hello"]) == 0
        out = json.loads(capsys.readouterr().out)
        expected = resolve(profile.steps[index], profile.safety).dialogue_intensity
        assert out["dialogue_intensity"] == round(expected, 3)
    last = len(profile.steps) - 1
    assert main(["say", "--profile", "job_interview", "--lexical", "--step", str(last + 1), "hello"]) == 2
    assert f"outside 0-{last}" in capsys.readouterr().err


def test_command_errors_are_printed_escaped(monkeypatch, capsys):
    # A command's error may quote a file, a folder name or a device's own words.
    import vr.app.say as say
    from vr.app.cli_common import CommandError

    def fails(args):
        raise CommandError("vr say: \x1b]0;owned\x07 went wrong\nsecond line", 1)

    monkeypatch.setattr(say, "cmd_say", fails)
    assert main(["say", "--profile", "job_interview", "hello"]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "vr say: \\x1b]0;owned\\x07 went wrong\nsecond line" in err
