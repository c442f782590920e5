"""Pseudonyms: one fixed shape that leaves no room for a name, a date of birth or a control character.

The pseudonym becomes part of folder and file names (``sessions/P-0042_...``,
``course_P-0042.html``), so what is checked must be exactly what is used.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT
from vr.record import SessionWriter, check_pseudonym, new_pseudonym


@pytest.mark.parametrize("value", ["P-0042", "XR-07", "SIM-0001", "T-20", "ABC-99999"])
def test_the_documented_shape_is_accepted(value: str) -> None:
    assert check_pseudonym(value) == value


@pytest.mark.parametrize("value, why", [
    ("SMITH-19800101", "could be a name"),          # surname and date of birth
    ("JOHN-1234", "could be a name"),               # a first name
    ("P-19800101", "could be a date of birth"),     # YYYYMMDD
    ("JS-010180", "could be a date of birth"),      # initials and DDMMYY
    ("P-0042\n", "line break"),                     # would reach folder and file names
    ("P-0042 ", "space"),
    (" P-0042", "space"),
    ("P-00\t42", "control character"),
    ("P-0042\x1b[2J", "control character"),
    ("p-0042", "capitals"),
    ("Ä-0042", "capitals"),
    ("P-٠٠٤٢", "digits only"),                      # Arabic-Indic digits are not 0-9
    ("P0042", "no hyphen"),
    ("P-", "no number"),
    ("P-4", "too short"),
    ("", "empty"),
])
def test_names_dates_and_control_characters_are_refused(value: str, why: str, tmp_path) -> None:
    with pytest.raises(ValueError) as info:
        check_pseudonym(value)
    message = str(info.value)
    assert why in message and "e.g. P-0042" in message
    assert "\n" not in message and "\x1b" not in message   # the value is shown escaped
    with pytest.raises(ValueError):
        SessionWriter(tmp_path / "x", {"patient": value})
    assert not (tmp_path / "x").exists()


def test_new_pseudonyms_have_the_shape() -> None:
    for _ in range(200):
        check_pseudonym(new_pseudonym())


def test_the_command_refuses_a_trailing_newline_before_any_folder_exists(tmp_path) -> None:
    out = subprocess.run([sys.executable, "-m", "vr", "simulate", "--profile", "demo_tour", "--seconds", "1",
                          "--pseudonym", "P-0042\n"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and "not a pseudonym" in out.stderr and "line break" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "sessions").exists()
