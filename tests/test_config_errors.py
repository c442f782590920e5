"""Every bad profile or scene gives a clear error naming the file and the line, never a traceback.

Each file in tests/data/bad/ holds one kind of mistake (a few hold several, on purpose). The
table below says, for each, the line the error must point at and a piece of the message; the
CLI is also run over the whole folder in a subprocess, as a clinician would run it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vr.config import ConfigError, Problem, validate_file
from vr.config import yamlsrc
from vr.config.yamlsrc import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "data" / "bad"
PLACEHOLDER = re.compile(r"\{\{|\{\w+(![rsa])?(:\.?\d*\w)?\}")  # '{value!r}', '{total:.2f}', '{{'
MARKER = Path("/tmp/vr_config_errors_marker_do_not_create")  # python_object_apply.yaml would touch it

# file -> (line the error points at, text the problem must contain: message or fix)
CASES: dict[str, tuple[int, str]] = {
    # unknown keys
    "unknown_key_typo.yaml": (15, "did you mean 'humans'?"),
    "unknown_key_safety_typo.yaml": (6, "did you mean 'min_distance_m'?"),
    "unknown_key_top.yaml": (5, "unknown key 'therapist'"),
    # wrong types
    "wrong_type_humans.yaml": (15, "expected a whole number, got the text 'three'"),
    "wrong_type_steps_number.yaml": (10, "steps: expected a list, got the number 3"),
    "wrong_type_safety_list.yaml": (5, "safety: expected a mapping of 'key: value' lines, got a list"),
    "wrong_type_proximity_number.yaml": (16, "expected a mapping of 'key: value' lines, got the number 4.0"),
    "quoted_number.yaml": (16, "expected a number, got the text '4.0'"),
    "bool_for_number.yaml": (15, "yes, no, on and off are read as true/false"),
    "empty_value.yaml": (14, "got nothing (null)"),
    "scene_wrong_type_size.yaml": (6, "room.size_m: expected a list, got the number 8"),
    "scene_size_two_numbers.yaml": (6, "value number 3 is missing"),
    # ranges and absurd numbers
    "negative_distance.yaml": (17, "-2.0 is below the smallest allowed value 0.3"),
    "absurd_humans.yaml": (15, "100000 is above the largest allowed value 500"),
    "absurd_min_distance.yaml": (6, "0.01 is below the smallest allowed value 0.3"),
    "absurd_intensity.yaml": (16, "5 is above the largest allowed value 1.0"),
    "nan_value.yaml": (16, "steps[1].intensity: '.nan' is not a finite number"),
    "inf_value.yaml": (16, "steps[1].proximity.distance_m: '.inf' is not a finite number"),
    "schema_version_2.yaml": (2, "schema_version 2 is not supported"),
    # missing or empty
    "missing_name.yaml": (2, "required key 'name' is missing"),
    "missing_scene_key.yaml": (2, "required key 'scene' is missing"),
    "missing_steps.yaml": (2, "required key 'steps' is missing"),
    "missing_step_name.yaml": (14, "steps[1]: required key 'name' is missing"),
    "empty_steps.yaml": (10, "steps: needs at least 1 entry, has 0"),
    "neither_kind.yaml": (1, "neither a profile"),
    # scenes named by a profile
    "scene_not_found.yaml": (4, "scene 'no_such_scene' not found"),
    "scene_typo.yaml": (4, "did you mean 'auditorium'?"),
    "safe_scene_not_safe.yaml": (9, "safe_scene 'auditorium' is a social scene"),
    "safe_scene_with_humans.yaml": (4, "is a safe scene, with no places for virtual humans"),
    # YAML features that are refused
    "duplicate_key.yaml": (17, "duplicate key 'humans' (first given at line 15)"),
    "python_object_apply.yaml": (14, "'!!python/object/apply:os.system' is refused and never executed"),
    "python_name.yaml": (15, "'!!python/name:os.getpid' is refused and never executed"),
    "python_object_new.yaml": (15, "'!!python/object/new:collections.OrderedDict' is refused"),
    "binary_tag.yaml": (15, "unsupported tag '!!binary'"),
    "timestamp_unquoted.yaml": (14, "'2024-05-01' reads as a date"),
    "custom_tag.yaml": (15, "unsupported tag '!feeling'"),
    "alias_bomb.yaml": (3, "anchors and aliases"),
    "anchor_alias.yaml": (16, "anchors and aliases"),
    "merge_key.yaml": (15, "merge keys ('<<') are not supported"),
    "merge_key_alias.yaml": (14, "anchors and aliases"),
    "non_string_key.yaml": (15, "a key must be a plain word, not '3'"),
    "deep_nesting.yaml": (10, "nested more than 40 levels deep"),
    # broken text
    "tabs_indent.yaml": (15, "indent with spaces, never tabs"),
    "truncated.yaml": (16, "the file ends before the '{' opened here is closed"),
    "truncated_quote.yaml": (14, "the file ends before the quote opened here is closed"),
    "empty.yaml": (1, "file is empty"),
    "comments_only.yaml": (1, "file has only comments"),
    "non_utf8.yaml": (3, "byte 0xe9 is not valid UTF-8"),
    "nul_byte.yaml": (4, "NUL byte"),
    "top_level_list.yaml": (2, "must be a mapping of 'key: value' lines at the top level"),
    "top_level_text.yaml": (2, "must be a mapping of 'key: value' lines at the top level"),
    # moods and step rules
    "unknown_mood.yaml": (16, "unknown mood 'angry'"),
    "unknown_mood_in_mixed.yaml": (16, "unknown mood 'sleepy' in mixed"),
    "scene_prop_outside.yaml": (8, "table at (4.5, 0.0) is outside the room"),
    "advance_hold_without_rule.yaml": (8, "held_s and min_s only apply with suds_at_most"),
    "mixed_mood_shares.yaml": (17, "mixed shares add up to 0.800, not 1"),
    "duration_and_advance.yaml": (17, "give duration_s or advance_when, not both"),
    "advance_after_and_suds.yaml": (16, "give after_s or suds_at_most, not both"),
    "advance_sometimes.yaml": (16, "not 'sometimes'"),
    "advance_at_ceiling.yaml": (16, "suds_at_most 85 is not below safety.suds_ceiling 85"),
    "retreat_below_advance.yaml": (17, "retreat level 30 is at or below the advance level 40"),
    # safety caps checked against the scene
    "intensity_over_cap.yaml": (16, "intensity 0.95 exceeds safety.max_intensity 0.9"),
    "dialogue_intensity_over_cap.yaml": (17, "dialogue intensity 1.0 exceeds safety.max_intensity 0.9"),
    "distance_inside_min.yaml": (17, "distance 0.9 m is inside safety.min_distance_m 1.2 m"),
    "too_many_humans.yaml": (15, "200 humans but scene 'auditorium' has places for 151"),
    # scene files
    "scene_spawn_outside.yaml": (14, "point (5.0, 0.0) is outside the room"),
    "scene_duplicate_spawn_ids.yaml": (12, "spawn id 'door' is used twice"),
    "scene_seated_two_points.yaml": (14, "a seated spawn has exactly one point"),
    "scene_seated_and_sits.yaml": (13, "either seated from the start or sits at the end of its walk"),
    "scene_same_place.yaml": (12, "places 'door' and 'second' start less than 0.45 m apart"),
    "scene_unknown_prop.yaml": (13, "'chair' is not an allowed value"),
    "scene_patient_outside.yaml": (8, "patient place (0.0, -30.0) is outside the room"),
    "scene_grid_outside.yaml": (13, "is outside the room"),
}

# files with several mistakes: every one is reported, each at its own line
SEVERAL: dict[str, list[tuple[int, str]]] = {
    "several_mistakes.yaml": [
        (15, "expected a whole number, got the text 'lots'"),
        (16, "3.0 is above the largest allowed value 1.0"),
        (17, "did you mean 'mutual_dwell_s'?"),
    ],
    "several_safety_mistakes.yaml": [
        (16, "intensity 0.95 exceeds safety.max_intensity"),
        (19, "distance 0.5 m is inside safety.min_distance_m"),
        (21, "400 humans but scene 'auditorium' has places for 151"),
    ],
    "several_yaml_mistakes.yaml": [
        (16, "duplicate key 'humans'"),
        (17, "'.nan' is not a finite number"),
        (18, "unsupported tag '!!binary'"),
    ],
}


def _problems(path: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        validate_file(path)
    problems = info.value.problems
    assert problems, f"{path.name}: ConfigError without problems"
    return problems


def _show(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


def test_corpus_is_complete() -> None:
    """Every file in the folder is in a table, and every table entry has its file."""
    on_disk = {p.name for p in BAD.iterdir()}
    listed = set(CASES) | set(SEVERAL)
    assert on_disk == listed, f"not in a table: {sorted(on_disk - listed)}; missing: {sorted(listed - on_disk)}"
    assert len(on_disk) >= 36


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_names_file_line_and_problem(name: str) -> None:
    line, text = CASES[name]
    path = BAD / name
    problems = _problems(path)
    ours = [p for p in problems if p.file == str(path)]
    assert ours, f"no problem names {path}:\n{_show(problems)}"
    assert any(p.line == line and text in str(p) for p in ours), \
        f"expected line {line} with {text!r}, got:\n{_show(problems)}"
    for p in ours:
        assert p.message and not PLACEHOLDER.search(str(p)), f"message template not filled in: {p}"


@pytest.mark.parametrize("name", sorted(SEVERAL))
def test_several_mistakes_reported_at_once(name: str) -> None:
    path = BAD / name
    problems = _problems(path)
    assert len(problems) == len(SEVERAL[name]), _show(problems)
    for line, text in SEVERAL[name]:
        assert any(p.file == str(path) and p.line == line and text in str(p) for p in problems), \
            f"expected line {line} with {text!r}, got:\n{_show(problems)}"


def test_python_tags_execute_nothing() -> None:
    MARKER.unlink(missing_ok=True)
    for name in ("python_object_apply.yaml", "python_name.yaml", "python_object_new.yaml"):
        _problems(BAD / name)
    assert not MARKER.exists(), "a !!python tag was executed"


def test_alias_bomb_is_refused_quickly() -> None:
    start = time.monotonic()
    problems = _problems(BAD / "alias_bomb.yaml")
    assert time.monotonic() - start < 2.0
    assert all("anchors and aliases" in p.message for p in problems)


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    lines = ["schema_version: 1", "name: Huge", "scene: auditorium", "steps:"]
    lines += [f"  - {{name: Step {i}, humans: 0, duration_s: 60}}" for i in range(30_000)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > MAX_FILE_BYTES
    problems = _problems(path)
    assert [(p.file, p.line) for p in problems] == [(str(path), 0)]
    assert "over the 1000000 limit" in problems[0].message


def test_too_many_values_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A lower limit keeps the test fast; the check is the same at MAX_NODES (100000).
    monkeypatch.setattr(yamlsrc, "MAX_NODES", 200)
    path = tmp_path / "many.yaml"
    path.write_text("schema_version: 1\nsteps: [" + "0, " * 300 + "]\n", encoding="utf-8")
    problems = _problems(path)
    assert len(problems) == 1 and problems[0].line == 2 and "more than 200 values" in problems[0].message


def test_problems_in_a_named_scene_name_both_files(tmp_path: Path) -> None:
    (tmp_path / "scenes").mkdir()
    (tmp_path / "profiles").mkdir()
    scene = tmp_path / "scenes" / "broken_room.yaml"
    scene.write_text("schema_version: 1\nname: Broken\nkind: social\nroom: {size_m: [4.0, 4.0, 3.0]}\n"
                     "spawns:\n  - id: far\n    path_m: [[9.0, 0.0]]\n", encoding="utf-8")
    profile = tmp_path / "profiles" / "uses_broken.yaml"
    profile.write_text("schema_version: 1\nname: Uses a broken scene\nscene: broken_room\n"
                       "steps:\n  - name: One\n    humans: 1\n", encoding="utf-8")
    problems = _problems(profile)
    assert any(p.file == str(profile) and p.line == 3 and "has problems" in p.message for p in problems)
    assert any(p.file == str(scene) and p.line == 7 and "outside the room" in p.message for p in problems)


def test_cli_over_the_whole_folder() -> None:
    proc = subprocess.run([sys.executable, "-m", "vr", "validate", str(BAD)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Traceback" not in proc.stdout
    for path in sorted(BAD.iterdir()):
        assert f"{path}:" in proc.stderr, f"{path.name} not named in the CLI output"
    n = len(list(BAD.iterdir()))
    assert f"{n} of {n} file(s) have problems" in proc.stderr
    assert not MARKER.exists()


SHIPPED = sorted((ROOT / "scenes").glob("*.yaml")) + sorted((ROOT / "exposure_profiles").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_files_validate(path: Path) -> None:
    expected = "scene" if path.parent.name == "scenes" else "profile"
    assert validate_file(path) == expected


def test_shipped_files_exist() -> None:
    assert any(p.parent.name == "scenes" for p in SHIPPED)
    assert any(p.parent.name == "exposure_profiles" for p in SHIPPED)


def test_cli_accepts_shipped_files() -> None:
    proc = subprocess.run([sys.executable, "-m", "vr", "validate", "scenes", "exposure_profiles"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
