"""Under CI a skip is a failure: a scratch suite with a skipping test, run with and without CI=true."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT

SCRATCH = '''
import pytest

pytestmark = pytest.mark.filterwarnings("ignore")


def test_runs():
    assert True


@pytest.mark.skipif(True, reason="needs a tool this machine lacks")
def test_needs_a_tool():
    pass


def test_skips_inside():
    pytest.skip("no display here")


@pytest.mark.xfail(reason="known", strict=False)
def test_expected_to_fail():
    assert False
'''

MODULE_SKIP = '''
import pytest

pytest.skip("this module needs a missing plugin", allow_module_level=True)


def test_never():
    pass
'''


def _run(tmp_path, ci: bool, *names: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_scratch.py").write_text(SCRATCH)
    (tmp_path / "test_module_skip.py").write_text(MODULE_SKIP)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    env["PYTHONPATH"] = str(ROOT / "tests")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "ci_rules", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), *(str(tmp_path / n) for n in names)], capture_output=True,
                          text=True, env=env,
                          cwd=tmp_path)


def test_a_person_sees_skips_and_ci_sees_failures(tmp_path):
    both = ("test_scratch.py", "test_module_skip.py")
    here = _run(tmp_path, False, *both)
    assert here.returncode == 0, here.stdout
    assert "1 passed, 3 skipped, 1 xfailed" in here.stdout, here.stdout
    ci = _run(tmp_path, True, "test_scratch.py")
    assert ci.returncode == 1, ci.stdout
    # A skip marker acts at set-up (an error), a skip inside the test is a failure; an expected failure stays one.
    assert "1 failed, 1 passed, 1 xfailed, 1 error" in ci.stdout, ci.stdout
    assert "it skipped: Skipped: needs a tool this machine lacks" in ci.stdout and "it skipped: Skipped: no display here" in ci.stdout
    # A module that skips itself whole is a collection error: the run stops, loudly.
    ci = _run(tmp_path, True, *both)
    assert ci.returncode == 2 and "Interrupted: 1 error during collection" in ci.stdout, ci.stdout
    assert "it skipped: Skipped: this module needs a missing plugin" in ci.stdout


def test_every_test_listed_as_slow_still_exists():
    """A renamed test would silently join the quick suite: the list names only tests that are there."""
    import re

    from ci_rules import slow_tests

    listed = slow_tests()
    assert len(listed) > 50
    for nodeid in sorted(listed):
        path, _, name = nodeid.partition("::")
        function = re.sub(r"\[.*\]$", "", name)
        text = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^(async )?def {re.escape(function)}\(", text, re.M), f"{nodeid} is gone; remake the list"


def test_the_quick_suite_leaves_the_slow_tests_out(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not slow",
                          "tests/test_crash.py", "tests/test_layering.py"], capture_output=True, text=True,
                         env=env, cwd=ROOT)
    assert "tests/test_layering.py::test_imports_point_down_the_layers" in out.stdout, out.stdout
    assert "test_records_survive_sigkill_at_random_moments" not in out.stdout and "deselected" in out.stdout
