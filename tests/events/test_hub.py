"""The hub alone: ids, the ring's bounds, and which listener gets what."""

from aiwatch.events.hub import PROBE, Hub


async def test_resume_across_probe_events_is_complete_and_eviction_is_detected() -> None:
    """Probe events take ids but are not kept, so resuming from one misses nothing; an id
    whose successor left the ring is reported as missed, as is one from the future."""
    hub = Hub(first_id=1000, ring_size=2)
    hub.publish("incident", {"n": 1})  # 1000
    probe = hub.publish(PROBE, {"n": 2}, target="a")  # 1001, not kept
    hub.publish("incident", {"n": 3})  # 1002
    listener, missed = hub.subscribe(last_id=probe.id)
    assert missed is None
    assert [e.id for e in listener.queue] == [1002]
    hub.publish("incident", {"n": 4})  # 1003
    hub.publish("incident", {"n": 5})  # 1004: the ring now holds 1003 and 1004
    resumed, missed = hub.subscribe(last_id=1002)
    assert missed is None
    assert [e.id for e in resumed.queue] == [1003, 1004]
    _, missed = hub.subscribe(last_id=1001)  # 1002 left the ring
    assert missed is not None
    assert missed.oldest_id == 1003
    _, missed = hub.subscribe(last_id=5000)
    assert missed is not None


async def test_probe_events_reach_only_listeners_that_asked_for_their_target() -> None:
    """A plain listener gets no probe event; a probes listener for one target only its own."""
    hub = Hub(first_id=1)
    plain, _ = hub.subscribe(last_id=None)
    one, _ = hub.subscribe(last_id=None, probes=True, target="a")
    every, _ = hub.subscribe(last_id=None, probes=True)
    assert hub.probe_listeners
    hub.publish(PROBE, {}, target="a")
    hub.publish(PROBE, {}, target="b")
    hub.publish("target", {})
    assert [e.type for e in plain.queue] == ["target"]
    assert [(e.type, e.target) for e in one.queue] == [("probe", "a"), ("target", "")]
    assert len(every.queue) == 3
    hub.unsubscribe(one)
    hub.unsubscribe(every)
    assert not hub.probe_listeners


async def test_an_overflowing_listener_is_dropped_and_the_others_are_not() -> None:
    """One event past the queue's size drops that listener (its queue is freed); a listener
    that took its events keeps getting new ones."""
    hub = Hub(first_id=1, queue_size=2)
    slow, _ = hub.subscribe(last_id=None)
    fast, _ = hub.subscribe(last_id=None)
    for n in range(3):
        hub.publish("incident", {"n": n})
        assert len(await Hub.next_events(fast)) == 1
    assert slow.dropped
    assert slow.gone.is_set()
    assert not slow.queue
    assert await Hub.next_events(slow) == []
    assert not fast.dropped
