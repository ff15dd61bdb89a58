"""Target states from the last probe and the ``slo:`` block, in ``/api/v1/targets``."""

import time

from aiwatch.app.keys import TARGET_STATES
from aiwatch.probes.slo import quantile

from .conftest import Serve, result


def test_quantile_interpolates_between_ranks() -> None:
    """The 95th percentile of 1…20 lies between the 19th and 20th values (NumPy's default)."""
    values = [float(v) for v in range(1, 21)]
    assert quantile(values, 0.95) == 19.05
    assert quantile(values, 0.5) == 10.5
    assert quantile([3.0], 0.99) == 3.0


async def test_slow_passing_probes_make_a_target_degraded(serve: Serve) -> None:
    """Passing probes whose p95 latency is over ``latency_p95`` make the target degraded;
    a failed probe makes it down; fast probes in the window make it up again."""
    served = await serve()
    now = time.time()
    for n in range(19):
        served.probed(result("chat-primary", success=True, duration=1.0, at=now - 60 + n))
    _, body = await served.call("GET", "/api/v1/targets")
    chat = next(t for t in body["data"]["targets"] if t["name"] == "chat-primary")
    assert chat["state"] == "up"
    assert chat["objectives"][0] == {
        "name": "latency_p95",
        "objective_seconds": 2.0,
        "measured_seconds": 1.0,
        "met": True,
    }
    # Two slow probes among 21: the 95th percentile (rank 19) is 3 s, over the 2 s objective.
    served.probed(result("chat-primary", success=True, duration=3.0, at=now - 5))
    served.probed(result("chat-primary", success=True, duration=3.0, at=now - 4))
    _, body = await served.call("GET", "/api/v1/targets")
    chat = next(t for t in body["data"]["targets"] if t["name"] == "chat-primary")
    assert chat["state"] == "degraded"
    assert chat["state_reason"] == "latency_p95 3s > 2s"
    assert chat["objectives"][0]["met"] is False
    served.probed(result("chat-primary", success=False, at=now - 3))
    assert served.app[TARGET_STATES].state("chat-primary").state == "down"
    embed = served.app[TARGET_STATES].state("embed")
    assert embed.state == "unknown"
    served.probed(result("embed", success=True, duration=30.0, at=now))
    assert served.app[TARGET_STATES].state("embed").state == "up"  # no slo: block


async def test_probes_older_than_the_window_leave_the_percentiles(serve: Serve) -> None:
    """Slow probes from before the 15-minute window no longer count."""
    served = await serve()
    now = time.time()
    for n in range(5):
        served.probed(result("chat-primary", success=True, duration=9.0, at=now - 1800 + n))
    served.probed(result("chat-primary", success=True, duration=0.5, at=now))
    state = served.app[TARGET_STATES].state("chat-primary")
    assert state.state == "up"
    assert state.objectives[0].value == 0.5
