"""The store read by query threads while the loop appends and trims: consistent copies."""

import threading
import time

from aiwatch.promql import MemoryStorage
from aiwatch.promql.storage import LabelMatcher

_SECONDS = 1.5


def test_selects_in_threads_see_consistent_windows_while_appends_and_trims_run() -> None:
    """Two reader threads select (plain, counters, regex) while this thread appends new
    samples, creates series and trims old ones: no error, each window's times and values
    belong together (every value equals its time), within the asked window, and a window
    returned earlier never changes afterwards (a copy, not a view)."""
    store = MemoryStorage()
    stop = threading.Event()
    problems: list[str] = []
    kept: list[tuple[list[int], list[float], tuple[object, object]]] = []
    selectors = (
        [LabelMatcher("__name__", "=", "x")],
        [LabelMatcher("__name__", "=~", "x|y"), LabelMatcher("i", "!=", "3")],
    )

    def read() -> None:
        try:
            check_windows()
        except Exception as err:  # any error in the reader thread fails the test
            problems.append(repr(err))

    def check_windows() -> None:
        n = 0
        while not stop.is_set():
            for matchers in selectors:
                now = store_now[0]
                found = store.select(matchers, now - 60_000, now)
                found_counters = store.select_counters(matchers, now - 60_000, now)
                rows = [(k, t, v) for k, t, v in found] + [
                    (k, t, v) for k, t, v, _ in found_counters
                ]
                for _key, times, values in rows:
                    if len(times) != len(values):
                        problems.append(f"lengths {len(times)} != {len(values)}")
                    if any(float(t) != v for t, v in zip(times, values, strict=False)):
                        problems.append("a value does not belong to its time")
                    if times and (times[0] < now - 60_000 or times[-1] > now):
                        problems.append("sample outside the window")
                    n += 1
                    if n % 500 == 0:
                        kept.append((list(times), list(values), (times, values)))

    store_now = [0]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + _SECONDS
    t = 0
    try:
        while time.monotonic() < deadline:
            t += 1000
            for i in range(40):
                store.append(
                    {"__name__": "x" if i % 2 else "y", "i": str(i), "g": str(t // 20_000)},
                    t,
                    float(t),
                )
            store_now[0] = t
            if t % 10_000 == 0:
                store.drop_before(t - 30_000)
    finally:
        stop.set()
        for reader in readers:
            reader.join(10)
    assert t > 20_000, "the writer made too little progress to exercise trims"
    assert not problems, problems[:5]
    assert kept
    for times, values, (live_times, live_values) in kept:
        assert list(live_times) == times
        assert list(live_values) == values
