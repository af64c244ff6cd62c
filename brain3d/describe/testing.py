"""A local OpenAI-compatible test server (127.0.0.1 only) for tests and the benchmark.

:class:`FakeOpenAIServer` answers ``POST /v1/chat/completions`` the way a real server
can misbehave, chosen by ``mode``:

* ``valid``: a schema-valid description as JSON content,
* ``free_text``: the design's free-text format instead of JSON,
* ``malformed``: content that is neither JSON nor the design's format,
* ``truncated_content``: JSON content cut in the middle,
* ``truncated_body``: an HTTP body shorter than its ``Content-Length`` (connection dropped),
* ``slow``: a valid answer after ``delay_s`` seconds,
* ``error``: HTTP 500.

It records every request body (``requests``), so tests can check what was sent.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VALID_CONTENT: dict[str, Any] = {
    "scene_type": "indoor",
    "objects": [
        {"id": "obj0", "category": "box", "shape": "cube", "color": {"name": "red", "rgb": [0.85, 0.12, 0.1]},
         "position": {"x": -0.4, "y": 0.2, "z": 0.0}, "size": 0.4, "confidence": 0.9},
        {"id": "obj1", "category": "ball", "shape": "sphere", "color": {"name": "blue", "rgb": [0.12, 0.25, 0.85]},
         "position": {"x": 0.4, "y": 0.25, "z": -0.3}, "size": 0.5, "confidence": 0.8},
    ],
    "spatial_relations": [{"subject": "obj0", "predicate": "left_of", "object": "obj1"}],
    "source": "whatever the server says",
}
FREE_TEXT_CONTENT = (
    "Scene Type: outdoor\nMain Objects: obj0: green cone at (0.0, 0.3, 0.1) size 0.5\n"
    "Spatial Relationships: none\nDepth Information: obj0 is near\nGeometry: a cone"
)
MODES = ("valid", "free_text", "malformed", "truncated_content", "truncated_body", "slow", "error")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that time out and hang up are part of the tests, not errors."""


class FakeOpenAIServer:
    """Threaded HTTP server on 127.0.0.1 (random port). Use as a context manager.

    Attributes
    ----------
    mode : str
        One of :data:`MODES`; may be changed while running.
    delay_s : float
        Delay of the ``slow`` mode.
    requests : list of dict
        Bodies received.
    base_url : str
        ``http://127.0.0.1:PORT/v1``.
    """

    def __init__(self, mode: str = "valid", delay_s: float = 2.0) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:  # keep test output clean
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                try:
                    server.requests.append(json.loads(self.rfile.read(length)))
                except json.JSONDecodeError:
                    server.requests.append({})
                server._answer(self)

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        mode = self.mode
        if mode == "error":
            handler.send_response(500)
            handler.send_header("Content-Type", "application/json")
            handler.end_headers()
            handler.wfile.write(b'{"error": "internal"}')
            return
        if mode == "slow":
            time.sleep(self.delay_s)
        content = {
            "valid": json.dumps(VALID_CONTENT), "slow": json.dumps(VALID_CONTENT), "free_text": FREE_TEXT_CONTENT,
            "malformed": "I see <b>something</b> {not json", "truncated_content": json.dumps(VALID_CONTENT)[:90],
            "truncated_body": json.dumps(VALID_CONTENT),
        }[mode]
        body = json.dumps({"id": "x", "object": "chat.completion",
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                        "finish_reason": "stop"}]}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2] if mode == "truncated_body" else body)
        if mode == "truncated_body":
            handler.close_connection = True

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
