"""The suite's rules: no test may skip under CI (``CI=true``); the slow tests carry a ``slow`` marker.

On a person's machine a test that lacks a tool (Xvfb, Chromium, espeak-ng, a compiler, EGL, the
OpenXR validation layer) skips with the reason; under CI, where ``scripts/setup.sh --test``
installs every one of them, a skip would hide a fault, so it is reported as a failure with its
reason. ``tests/conftest.py`` installs these hooks; ``pytest -p ci_rules`` does the same for any
test folder on the path.

The tests listed in ``tests/slow_tests.txt`` (two seconds or more on two busy cores) are marked
``slow``, so ``pytest -m "not slow"`` is a developer's quick suite; CI runs them all. The list is
measured, not guessed; remake it from a full run's timings with

    pytest -q --durations=0 | python tests/ci_rules.py > tests/slow_tests.txt
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

SLOW_LIST = Path(__file__).with_name("slow_tests.txt")
SLOW_S = 2.0

RULE = "CI=true: no test may skip (scripts/setup.sh --test installs every tool a test needs); it skipped: "


def _under_ci() -> bool:
    return os.environ.get("CI") == "true"


def _reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _under_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = RULE + _reason(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if _under_ci() and report.skipped:   # a whole module skipped (pytest.skip(allow_module_level=True))
        report.outcome = "failed"
        report.longrepr = RULE + _reason(report)


def slow_tests() -> set[str]:
    """The node ids listed as slow (comments and blank lines skipped)."""
    if not SLOW_LIST.is_file():
        return set()
    lines = (line.split("#", 1)[0].strip() for line in SLOW_LIST.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if line}


@pytest.hookimpl(tryfirst=True)   # before ``-m`` selects by markers
def pytest_collection_modifyitems(config, items):
    slow = slow_tests()
    for item in items:
        if item.nodeid in slow:
            item.add_marker(pytest.mark.slow)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: two seconds or more; left out by -m 'not slow' (tests/slow_tests.txt)")


def _from_durations(text: str) -> list[str]:
    """Node ids whose set-up, call and tear-down took ``SLOW_S`` or more, from ``--durations=0``."""
    spent: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"^([0-9.]+)s (?:setup|call|teardown)\s+(\S+)", line)
        if m:
            spent[m[2]] = spent.get(m[2], 0.0) + float(m[1])
    return sorted(k for k, v in spent.items() if v >= SLOW_S)


if __name__ == "__main__":
    ids = _from_durations(sys.stdin.read())
    print(f"# Tests of {SLOW_S:g} s or more (set-up, call and tear-down) on two busy cores, marked slow by")
    print("# tests/ci_rules.py: pytest -m 'not slow' leaves them out. Remake from a full run's timings:")
    print("#   pytest -q --durations=0 | python tests/ci_rules.py > tests/slow_tests.txt")
    print("\n".join(ids))
