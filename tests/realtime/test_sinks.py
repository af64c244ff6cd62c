"""SinkSet: every result reaches each sink; a sink that raises is detached once, never fatal."""

from __future__ import annotations

import threading

from realtime.sinks import SinkSet


class Recording:
    def __init__(self) -> None:
        self.items: list[object] = []
        self.closed = False

    def on_decoded(self, item: object) -> None:
        self.items.append(item)

    def close(self) -> None:
        self.closed = True


class Broken(Recording):
    def on_decoded(self, item: object) -> None:
        raise RuntimeError("disk full")


def test_a_failing_sink_is_detached_once_even_when_two_threads_see_it_fail() -> None:
    errors: list[tuple[str, str, str]] = []
    sinks = SinkSet(lambda name, method, exc: errors.append((name, method, str(exc))))
    good, broken = Recording(), Broken()
    sinks.add(good)
    sinks.add(broken)
    start = threading.Barrier(4)

    def dispatch(k: int) -> None:
        start.wait()
        for i in range(50):
            sinks.dispatch("on_decoded", (k, i))

    threads = [threading.Thread(target=dispatch, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [("Broken", "on_decoded", "disk full")]
    assert sinks.active == [good] and len(good.items) == 200
    sinks.close()
    assert good.closed and broken.closed  # a detached sink is still closed at the end
