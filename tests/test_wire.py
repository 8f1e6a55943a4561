"""The wire (engine.models.wire) without a network: turns by priority, requests abandoned anywhere,
counters that come back to zero, patience, probes and hedges. Attempts are coroutines that
succeed, fail or wait as each test says."""

import asyncio
import time

import pytest

from engine.models.faults import Fault, PatienceExhausted
from engine.models.fleet import STRIKES
from engine.models.wire import Wire


class Clock:
    """The loop's clock (which the wire's timers follow), which the test can move forward by hand
    (the wire's patience and rates read it): ``clock.now`` reads and sets it."""

    def __init__(self) -> None:
        self.offset = -time.monotonic()

    @property
    def now(self) -> float:
        return time.monotonic() + self.offset

    @now.setter
    def now(self, value: float) -> None:
        self.offset += value - self.now

    def __call__(self) -> float:
        return self.now


def settled(wire: Wire) -> bool:
    """Nothing on the wire, nothing waiting, no server with a request it thinks is in flight."""
    return (wire.on_wire == 0 and not any(not entry[3].done() for entry in wire._queue)
            and all(server.in_flight == 0 for server in wire.fleet.servers) and not wire._active)


async def test_requests_take_their_turns_oldest_step_first():
    wire = Wire(["http://one/v1"], concurrency=1, hedging=False)
    gate = asyncio.Event()
    order = []

    async def attempt(server, step):
        order.append(step)
        if step == 0:
            await gate.wait()
        return step

    first = asyncio.ensure_future(wire.send(lambda s: attempt(s, 0), key=(0, 0)))
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(wire.send(lambda s, step=step: attempt(s, step), key=(step, 0)))
             for step in (7, 3, 5, 1)]
    await asyncio.sleep(0.01)
    assert order == [0] and wire.report().queued == 4
    gate.set()
    await asyncio.gather(first, *later)
    assert order == [0, 1, 3, 5, 7] and settled(wire)


async def test_a_request_abandoned_while_waiting_or_on_the_wire_leaves_nothing_behind():
    wire = Wire(["http://one/v1"], concurrency=2, hedging=False)
    forever = asyncio.Event()

    async def hang(server):
        await forever.wait()

    tasks = [asyncio.ensure_future(wire.send(hang, key=(step, 0))) for step in range(5)]
    await asyncio.sleep(0.01)
    assert wire.on_wire == 2 and wire.report().queued == 3
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert settled(wire) and wire.sent == 2 and wire.replies == 0


async def test_faults_are_retried_counted_and_the_counters_come_back_to_zero():
    wire = Wire(["http://one/v1"], concurrency=4, hedging=False, jitter=lambda: 0.0)
    faults = iter(["rate_limited", "server_error", "timeout", "connection", "bad_body"])

    async def flaky(server):
        kind = next(faults, None)
        if kind is not None:
            raise Fault(kind, "said so", status=503 if kind == "server_error" else 429, retry_after_s=0.001)
        return "reply"

    assert await wire.send(flaky, key=(1, 0)) == "reply"
    report = wire.report()
    assert report.faults == {"rate_limited": 1, "server_error": 1, "timeout": 1, "connection": 1, "bad_body": 1}
    assert report.requests == 6 and report.replies == 1 and report.retries == 5 and settled(wire)


async def test_patience_runs_out_on_time_when_every_server_is_down_and_fails_every_waiting_request():
    clock = Clock()
    wire = Wire(["http://one/v1"], concurrency=1, patience_s=5.0, hedging=False, clock=clock, jitter=lambda: 0.0)
    attempts = []

    async def down(server):
        attempts.append(clock.now)
        clock.now += 1.0  # each refused attempt takes a second of the run's time
        raise Fault("server_error", "The server is overloaded", status=503)

    tasks = [asyncio.ensure_future(wire.send(down, key=(step, 0))) for step in (1, 2)]
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(error, PatienceExhausted) for error in done)
    assert "for 5 s (--patience 5 s)" in str(done[0]) and "server unavailable (503): The server is overloaded" in str(done[0])
    # Three strikes took it down; then one probe a due time, until five seconds had gone by.
    assert len(attempts) >= STRIKES and attempts[-1] < 5.0 and settled(wire)


async def test_patience_never_counts_time_when_nothing_is_asked():
    """A fault, then a long pause with nothing under way, then a fault: not ten minutes of trouble."""
    clock = Clock()
    wire = Wire(["http://one/v1"], concurrency=1, patience_s=60.0, hedging=False, clock=clock, jitter=lambda: 0.0)

    async def refused(server):
        raise Fault("connection", "Connection refused")

    task = asyncio.ensure_future(wire.send(refused, key=(1, 0)))
    await asyncio.sleep(0.01)  # it failed once and waits to try again
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert wire.trouble_since is None
    clock.now += 3600  # an hour with nothing asked
    task = asyncio.ensure_future(wire.send(refused, key=(2, 0)))
    await asyncio.sleep(0.01)
    assert not task.done() and wire.trouble_since >= 3600  # trying again, patience counting from now
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_server_that_is_down_is_probed_with_the_request_that_matters_least():
    clock = Clock()
    wire = Wire(["http://one/v1"], concurrency=4, hedging=False, clock=clock, jitter=lambda: 0.5)
    server = wire.fleet.servers[0]
    for _ in range(STRIKES):
        wire.fleet.sent(server)
        wire.fleet.fault(server, "server_error", "server unavailable (503)")
    assert server.down
    probed = []

    async def answer(s, step):
        probed.append(step)
        return step

    tasks = [asyncio.ensure_future(wire.send(lambda s, step=step: answer(s, step), key=(step, 0))) for step in (1, 9, 4)]
    await asyncio.sleep(0.01)
    assert probed == []  # the probe is not due yet
    clock.now = server.next_probe_at
    wire._pump()
    await asyncio.gather(*tasks)
    assert probed[0] == 9 and sorted(probed) == [1, 4, 9]  # the probe came back: all went
    assert not server.down and settled(wire)


async def test_a_slow_request_is_raced_only_once_its_step_is_the_oldest_and_never_spins():
    clock = Clock()
    wire = Wire(["http://one/v1"], concurrency=8, clock=clock)
    for _ in range(30):
        wire.times.add(0.2)  # a median of 0.2 s: slow after half a second
    release = {1: asyncio.Event(), 2: asyncio.Event()}
    calls = {1: 0, 2: 0}
    reads = 0
    now = wire.now

    def counted_now():
        nonlocal reads
        reads += 1
        return now()

    wire.now = counted_now

    events = []

    async def slow(server, step):
        calls[step] += 1
        events.append((step, calls[step]))
        if calls[step] == 1:
            await release[step].wait()
        elif step == 1:
            await asyncio.sleep(0.2)  # meanwhile step 2 is slow too, but not the oldest
        return step

    first = asyncio.ensure_future(wire.send(lambda s: slow(s, 1), key=(1, 0)))
    first.add_done_callback(lambda _: events.append(("done", 1)))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(wire.send(lambda s: slow(s, 2), key=(2, 0)))
    await asyncio.sleep(0.01)
    clock.now += 10.0  # both have been on the wire far longer than half a second
    assert await first == 1 and await second == 2
    # The oldest step's slow request was raced; step 2's only once step 1 was done with, though it
    # had been slow just as long.
    assert events == [(1, 1), (2, 1), (1, 2), ("done", 1), (2, 2)] and wire.hedged == 2
    assert reads < 200, reads  # it waited for the oldest step to move on; it did not poll the clock
    release[1].set()
    release[2].set()
    await asyncio.sleep(0.01)
    assert settled(wire)


@pytest.mark.parametrize("status", [401, 404])
async def test_what_no_retry_mends_goes_straight_through(status):
    from engine.models.sampler import ModelAuthError

    wire = Wire(["http://one/v1"], hedging=False)

    async def refused(server):
        raise ModelAuthError(f"refused ({status})")

    with pytest.raises(ModelAuthError):
        await wire.send(refused, key=(1, 0))
    assert wire.retries == 0 and settled(wire)
