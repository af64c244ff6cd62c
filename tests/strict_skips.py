"""A pytest plugin: on CI a skipped test is a failure.

On CI the machine is set up by ``scripts/setup.sh``, so a skip there means that
something the product needs is missing (Xvfb for the live window, a package, the
shipped weights), and a skipped test would hide the regression it guards. With
``BRAIN3D_STRICT_SKIPS=1`` (``.ci/run`` sets it) every skip, at collection or in a
test, is reported as a failure with its reason. Tests that may legitimately skip on a
CI machine (for example GPU-only checks) carry ``@pytest.mark.may_skip_on_ci``.
Expected failures (``xfail``) are left alone. A skip of a whole module at import
(``pytest.importorskip`` at module level, a conftest's ``pytest.skip``) cannot carry the
marker and becomes a collection error, which stops the session: on CI, such a module's
dependency must be installed.

Loaded by ``tests/conftest.py`` (``pytest_plugins``); usable on its own with
``-p tests.strict_skips``.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

#: Environment variable that turns skips into failures.
STRICT_SKIPS_ENV = "BRAIN3D_STRICT_SKIPS"
#: Marker of tests allowed to skip even on CI.
MAY_SKIP_MARKER = "may_skip_on_ci"


def strict_skips() -> bool:
    """True when skips count as failures (``BRAIN3D_STRICT_SKIPS=1``)."""
    return os.environ.get(STRICT_SKIPS_ENV, "") == "1"


def _reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail_instead(report: Any) -> None:
    report.outcome = "failed"
    report.longrepr = (
        f"skipped on CI, which counts as a failure ({STRICT_SKIPS_ENV}=1): {_reason(report.longrepr)}. "
        "Install what is missing (bash scripts/setup.sh), or mark the test "
        f"@pytest.mark.{MAY_SKIP_MARKER} if a CI machine may legitimately lack it."
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MAY_SKIP_MARKER}: a skip of this test is not a failure on CI")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if (strict_skips() and report.skipped and not hasattr(report, "wasxfail")
            and item.get_closest_marker(MAY_SKIP_MARKER) is None):
        _fail_instead(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if strict_skips() and report.skipped:
        _fail_instead(report)
