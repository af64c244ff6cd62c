"""The openai describer against a local test server: valid, malformed, truncated, slow, 500."""

from __future__ import annotations

import base64
import time

import numpy as np
import pytest

from brain3d.config import OpenAIDescriberConfig
from brain3d.describe.breaker import CircuitBreaker
from brain3d.describe.openai_backend import OpenAIDescriber
from brain3d.describe.testing import FakeOpenAIServer
from brain3d.errors import ConfigError
from brain3d.schema import Description

IMAGE = np.full((64, 64, 3), 90, np.uint8)


@pytest.fixture()
def server():  # type: ignore[no-untyped-def]
    with FakeOpenAIServer() as srv:
        yield srv


def _describer(url: str, **kwargs: object) -> OpenAIDescriber:
    options = {"timeout_s": 0.5, "max_retries": 1, "backoff_s": 0.01, "breaker": CircuitBreaker(2, 60.0)}
    options.update(kwargs)
    return OpenAIDescriber(url, "test-model", **options)  # type: ignore[arg-type]


def test_valid_answer_becomes_the_description_with_our_source(server: FakeOpenAIServer) -> None:
    desc, problems = _describer(server.base_url).describe_with_problems(IMAGE)
    assert problems == []
    assert [o.shape for o in desc.objects] == ["cube", "sphere"]
    assert desc.source.startswith("openai-compatible server (test-model")  # not the server's claim
    assert desc.timing_ms is not None and desc.timing_ms > 0


def test_request_carries_the_image_as_png_data_url_and_the_schema(server: FakeOpenAIServer) -> None:
    _describer(server.base_url).describe(IMAGE)
    body = server.requests[-1]
    url = body["messages"][1]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["title"] == "Brain3D Description" and body["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize(("mode", "requests", "reported"), [
    # the model's text is wrong: read as free text, nothing found, said so (no retry: the server worked)
    ("malformed", 1, ["model output is not valid JSON (Expecting value", "no objects could be read"]),
    ("truncated_content", 1, ["model output is not valid JSON (Unterminated string", "no objects could be read"]),
    # the transport failed: retried once, then the fallback description with the reason
    ("truncated_body", 2, ["failed after 2 attempt(s): the answer was cut off: "]),
    ("error", 2, ["failed after 2 attempt(s): HTTP Error 500"]),
])
def test_bad_answers_give_a_valid_description_and_say_what_went_wrong(
        server: FakeOpenAIServer, mode: str, requests: int, reported: list[str]) -> None:
    server.mode = mode
    desc, problems = _describer(server.base_url).describe_with_problems(IMAGE)
    assert isinstance(desc, Description)
    Description.model_validate_json(desc.model_dump_json())
    assert desc.objects == []  # nothing invented from a bad answer
    assert len(server.requests) == requests
    for expected in reported:
        assert any(expected in problem for problem in problems), (expected, problems)
    assert ("fallback" in desc.source) is (requests == 2)


def test_free_text_answer_is_parsed(server: FakeOpenAIServer) -> None:
    server.mode = "free_text"
    desc, problems = _describer(server.base_url).describe_with_problems(IMAGE)
    assert desc.scene_type == "outdoor" and [o.shape for o in desc.objects] == ["cone"]
    assert any("not valid JSON" in p for p in problems)


def test_slow_server_times_out_within_the_limit(server: FakeOpenAIServer) -> None:
    server.mode, server.delay_s = "slow", 2.0
    start = time.perf_counter()
    desc, problems = _describer(server.base_url, timeout_s=0.3, max_retries=0).describe_with_problems(IMAGE)
    assert time.perf_counter() - start < 1.5
    assert desc.objects == [] and any("timed out" in p.lower() or "timeout" in p.lower() for p in problems)


def test_circuit_breaker_opens_so_a_dead_server_costs_nothing(server: FakeOpenAIServer) -> None:
    server.mode = "error"
    describer = _describer(server.base_url)
    describer.describe(IMAGE)
    describer.describe(IMAGE)
    assert describer.breaker.state == "open"
    sent = len(server.requests)
    start = time.perf_counter()
    desc, problems = describer.describe_with_problems(IMAGE)
    assert time.perf_counter() - start < 0.05
    assert len(server.requests) == sent  # nothing sent while open
    assert any("circuit breaker open" in p for p in problems)


def test_breaker_half_opens_after_cool_down_and_closes_on_success() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, cooldown_s=10.0, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.5
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record_failure()
    assert breaker.state == "open"
    now[0] = 21.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"


def test_refused_connection_falls_back() -> None:
    desc, problems = _describer("http://127.0.0.1:9/v1", max_retries=0).describe_with_problems(IMAGE)
    assert desc.objects == [] and problems


def test_missing_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        OpenAIDescriber.from_config(OpenAIDescriberConfig(model="m"))
    with pytest.raises(ConfigError, match="http"):
        OpenAIDescriber("ftp://x", "m")


def test_build_describer_makes_the_openai_backend_from_config(server: FakeOpenAIServer) -> None:
    from brain3d.config import load_config
    from brain3d.describe import build_describer

    config = load_config(overrides=["describer.backend=openai", f"describer.openai.base_url={server.base_url}",
                                    "describer.openai.model=m", "describer.openai.breaker_failures=5"])
    describer = build_describer(config)
    assert describer.breaker.failures == 5  # type: ignore[attr-defined]
    assert [o.shape for o in describer.describe(IMAGE).objects] == ["cube", "sphere"]
