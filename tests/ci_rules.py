"""The suite's rule under CI (``CI=true``): no test may skip.

On a person's machine a test that lacks a tool (Xvfb, Chromium, espeak-ng, a compiler, EGL, the
OpenXR validation layer) skips with the reason; under CI, where ``scripts/setup.sh --test``
installs every one of them, a skip would hide a fault, so it is reported as a failure with its
reason. ``tests/conftest.py`` installs these hooks; ``pytest -p ci_rules`` does the same for any
test folder on the path.
"""

from __future__ import annotations

import os

import pytest

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
