"""On CI (BRAIN3D_STRICT_SKIPS=1) a skipped test fails the suite; locally it stays a skip."""

from __future__ import annotations

import pytest

from tests.strict_skips import STRICT_SKIPS_ENV

INNER = """
import pytest

def test_needs_a_display():
    pytest.skip("Xvfb is not installed")

@pytest.mark.may_skip_on_ci
def test_needs_a_gpu():
    pytest.skip("no CUDA device")

@pytest.mark.xfail(reason="known")
def test_known_bug():
    assert False

def test_fine():
    assert True
"""


def test_a_skip_is_a_failure_with_its_reason_when_strict(pytester: pytest.Pytester,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_SKIPS_ENV, "1")
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest("-p", "tests.strict_skips", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(["*skipped on CI, which counts as a failure*Xvfb is not installed*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_skip_at_collection_fails_when_strict(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_SKIPS_ENV, "1")
    pytester.makepyfile(test_inner='import pytest\npytest.importorskip("no_such_module_here")\n'
                                   "def test_x():\n    pass\n")
    result = pytester.runpytest("-p", "tests.strict_skips", "-p", "no:cacheprovider")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*skipped on CI, which counts as a failure*no_such_module_here*"])


def test_skips_stay_skips_outside_ci(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STRICT_SKIPS_ENV, raising=False)
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest("-p", "tests.strict_skips", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=2, xfailed=1)
    assert result.ret == pytest.ExitCode.OK


def test_missing_shipped_weights_fail_the_test_rather_than_skip_it() -> None:
    from tests.conftest import shipped_weights

    with pytest.raises(BaseException) as outcome:  # BaseException: a skip would be caught too, and fail below
        shipped_weights("weights/nothing-here.safetensors")
    assert outcome.type is pytest.fail.Exception
    assert "shipped weights" in str(outcome.value) and "nothing-here.safetensors are missing" in str(outcome.value)
    assert shipped_weights("weights/brain3d-embedded.safetensors").is_file()
