"""LatestMailbox: one slot, the newest item wins, overwrites are counted."""

from __future__ import annotations

import threading
import time

from realtime.mailbox import LatestMailbox


def test_newest_item_wins_and_overwrites_are_counted() -> None:
    box: LatestMailbox[int] = LatestMailbox("t")
    assert box.put(1) is None
    assert box.put(2) == 1
    assert box.put(3) == 2
    assert box.pending and box.peek() == 3
    assert box.get(timeout=0) == 3
    assert not box.pending and box.get(timeout=0) is None
    assert (box.put_count, box.taken, box.overwritten) == (3, 1, 2)


def test_get_waits_for_a_put_from_another_thread() -> None:
    box: LatestMailbox[str] = LatestMailbox()
    threading.Timer(0.05, box.put, args=("late",)).start()
    started = time.monotonic()
    assert box.get(timeout=2.0) == "late"
    assert time.monotonic() - started < 1.5


def test_close_wakes_a_waiting_consumer_and_ignores_later_puts() -> None:
    box: LatestMailbox[int] = LatestMailbox()
    got: list[int | None] = []
    thread = threading.Thread(target=lambda: got.append(box.get()))
    thread.start()
    time.sleep(0.05)
    box.close()
    thread.join(2.0)
    assert not thread.is_alive() and got == [None]
    box.put(5)
    assert box.get(timeout=0) is None and box.put_count == 0
