"""Files written to hurt: deep nesting, numbers YAML 1.1 misreads, control characters in text.

Every one is turned away quickly with ``file:line:col: what; what to do`` and no traceback, the
same way for profiles, scenes and line banks (they go through one reader).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from vr.config import ConfigError, load_scene, validate_file
from vr.config.load import load_lines
from vr.config.text import printable
from vr.config.yamlsrc import MAX_DEPTH

LEVELS = 100_000
PROFILE = """\
schema_version: 1
name: {name}
scene: auditorium
safety:
  min_distance_m: 1.2
  max_intensity: 0.9
  suds_ceiling: 85
  safe_scene: calm_room
steps:
  - name: Empty hall
    humans: 0
    duration_s: {duration}
  - name: {step}
    humans: 3
    proximity: {{distance_m: {distance}}}
"""


def _profile(tmp_path: Path, *, name: str = "Test profile", step: str = "Small audience", duration: str = "60",
             distance: str = "4.0") -> Path:
    path = tmp_path / "profiles" / "p.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(PROFILE.format(name=name, step=step, duration=duration, distance=distance), encoding="utf-8")
    return path


def _problems(path: Path, loader=validate_file) -> list:
    with pytest.raises(ConfigError) as info:
        loader(path)
    return info.value.problems


def _validate(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vr", "validate", "--scenes", str(ROOT / "scenes"),
                           *map(str, paths)], capture_output=True, text=True, cwd=ROOT, timeout=120)


# -- depth ---------------------------------------------------------------------------------------
DEEP = {
    "flow lists": "ratings: " + "[" * LEVELS + "]" * LEVELS + "\n",
    "flow mappings": "ratings: " + "{a: " * LEVELS + "1" + "}" * LEVELS + "\n",
    "block lists": "ratings:\n  " + "- " * LEVELS + "1\n",
    "unclosed": "ratings: " + "[" * LEVELS + "\n",
}


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_a_hundred_thousand_levels_are_refused_at_once(tmp_path: Path, shape: str) -> None:
    # Before the guard, 100 000 open brackets kept `vr validate` busy for minutes (the timeout
    # below is generous on purpose: the answer comes in milliseconds).
    path = tmp_path / "deep.yaml"
    path.write_text("schema_version: 1\nname: Deep\nscene: auditorium\n" + DEEP[shape], encoding="utf-8")
    out = _validate(path)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    first = out.stderr.splitlines()[0]
    line = 5 if shape == "block lists" else 4
    assert first.startswith(f"{path}:{line}:") and f"nested more than {MAX_DEPTH} levels deep; flatten" in first


def test_scenes_and_line_banks_have_the_same_guard(tmp_path: Path) -> None:
    scene = tmp_path / "scene.yaml"
    scene.write_text((ROOT / "scenes" / "calm_room.yaml").read_text(encoding="utf-8")
                     + "extra: " + "[" * LEVELS + "\n", encoding="utf-8")
    lines = tmp_path / "lines.yaml"
    lines.write_text((ROOT / "dialogue" / "calm_room.yaml").read_text(encoding="utf-8")
                     + "extra: " + "{a: " * LEVELS + "\n", encoding="utf-8")
    for path, loader in ((scene, load_scene), (lines, load_lines), (scene, validate_file), (lines, validate_file)):
        problems = _problems(path, loader)
        assert [p.message for p in problems] == [f"nested more than {MAX_DEPTH} levels deep"], problems


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    from vr.config.yamlsrc import parse_yaml_bytes

    depth = MAX_DEPTH - 1  # the top-level mapping is the first level
    src = parse_yaml_bytes(("a: " + "[" * depth + "]" * depth + "\n").encode(), "ok.yaml")
    value = src.data["a"]
    for _ in range(depth - 1):
        value = value[0]
    assert value == ()


# -- numbers -------------------------------------------------------------------------------------
def test_exponent_numbers_are_numbers_and_their_range_applies(tmp_path: Path) -> None:
    # YAML 1.1 reads 1e308 as text; a clinician means a number, so the range check must speak.
    problems = _problems(_profile(tmp_path, distance="1e308"))
    assert [(p.line, p.message) for p in problems] == [
        (15, "steps[1].proximity.distance_m: 1e+308 is above the largest allowed value 20.0")]
    problems = _problems(_profile(tmp_path, distance="2.5e3"))
    assert "steps[1].proximity.distance_m: 2500.0 is above the largest" in problems[0].message
    assert validate_file(_profile(tmp_path, duration="1e2", distance="4e0")) == "profile"
    problems = _problems(_profile(tmp_path, duration="'1e2'"))  # quoted, it is text
    assert "steps[0].duration_s: expected a number, got the text '1e2'" in problems[0].message


@pytest.mark.parametrize("written, key", [("1e309", "steps[1].proximity.distance_m"),
                                          ("-.inf", "steps[1].proximity.distance_m"),
                                          (".NaN", "steps[1].proximity.distance_m")])
def test_not_a_finite_number_names_the_key_and_place(tmp_path: Path, written: str, key: str) -> None:
    path = _profile(tmp_path, distance=written)
    problems = _problems(path)
    assert [(p.line, p.col) for p in problems] == [(15, 29)]
    assert str(problems[0]) == (f"{path}:15:29: {key}: {written!r} is not a finite number; "
                                "write an ordinary number within the key's range")


# -- control characters --------------------------------------------------------------------------
@pytest.mark.parametrize("written, shown", [
    ('"Calm \\e[2J\\e]0;owned\\a"', "'\\x1b'"),   # clears the screen, retitles the terminal
    ('"Calm \\u202egnikaeps"', "'\\u202e'"),       # shows the text reversed
    ('"Calm\\nroom"', "'\\n'"),                     # a name is one line
    ('"Calm\\x9b2J"', "'\\x9b'"),                   # the one-byte CSI
])
def test_control_characters_in_names_are_refused(tmp_path: Path, written: str, shown: str) -> None:
    for where in ("name", "step"):
        path = _profile(tmp_path, **{where: written})
        problems = _problems(path)
        key = "name" if where == "name" else "steps[1].name"
        line = 2 if where == "name" else 13
        assert [(p.line, p.message.split(" (")[0]) for p in problems] == [
            (line, f"{key}: the text holds " + ("a line break or tab" if shown == "'\\n'" else "a control character"))]
        assert shown in problems[0].message
        assert printable(str(problems[0])) == str(problems[0])


def test_a_raw_escape_byte_is_named_by_line_and_column(tmp_path: Path) -> None:
    path = _profile(tmp_path, step="Small \x1b[31maudience")
    out = _validate(path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"{path}:13:17: character '\\x1b' is not allowed in a YAML file" in out.stderr
    assert "\x1b" not in out.stderr


def test_tabs_and_line_breaks_stay_allowed_in_descriptions(tmp_path: Path) -> None:
    path = _profile(tmp_path)
    path.write_text(path.read_text() + 'description: "first line\\n\\tsecond line"\n', encoding="utf-8")
    assert validate_file(path) == "profile"


def test_printed_file_names_are_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "evil\x1b]0;owned\x07"
    folder.mkdir()
    good = folder / "p.yaml"
    good.write_text((ROOT / "exposure_profiles" / "demo_tour.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    out = _validate(good, folder / "missing.yaml")
    assert out.returncode == 1
    assert "\x1b" not in out.stdout + out.stderr and "\x07" not in out.stdout + out.stderr
    assert "evil\\x1b]0;owned\\x07/p.yaml: ok (profile)" in out.stdout
    assert "evil\\x1b]0;owned\\x07/missing.yaml: file not found" in out.stderr


def test_printable_leaves_ordinary_text_alone() -> None:
    assert printable("Café – 3 humans, 😀") == "Café – 3 humans, 😀"
    assert printable("a\x1b[2Jb\u202e") == "a\\x1b[2Jb\\u202e"
    assert printable("one\ntwo\x07", keep_newlines=True) == "one\ntwo\\x07"


def test_the_fuzz_bench_keeps_a_fault_and_finds_none_in_a_short_run(tmp_path: Path) -> None:
    """bench/fuzz_config.py is only worth its figures if a fault counts: one is planted, then the
    real readers take a few seconds of mutated shipped files with none."""
    import random

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import fuzz_config as fuzz
    finally:
        sys.path.remove(str(ROOT / "bench"))

    planted = fuzz.Tally(tmp_path / "kept", "scene")
    path = tmp_path / "input.yaml"

    def broken(p: Path) -> str:
        return {"x": 1}[p.read_text()[:1]]   # a KeyError, as a reader's bug would raise

    fuzz.run_one(broken, path, b"room: {}", planted, slow_s=5.0)
    assert planted.counts["tracebacks"] == 1 and len(planted.failures) == 1
    assert "KeyError" in planted.failures[0] and (tmp_path / "kept" / "scene-0.yaml").read_bytes() == b"room: {}"
    for kind in ("scene", "lines"):
        tally = fuzz.Tally(tmp_path / "kept", kind)
        tried = fuzz.mutations(kind, 2.0, tally, path, random.Random(7), slow_s=30.0)
        assert tried > 0 and tally.counts["tracebacks"] == 0, tally.failures
        assert tally.counts["refused"] > 0   # the mutations do hurt
