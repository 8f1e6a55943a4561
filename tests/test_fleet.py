"""A fleet of servers, and the client-side rate limits, against real HTTP servers on 127.0.0.1."""

import asyncio
import json
import threading
import time

from engine.models.fleet import STRIKES, Fleet, RateLimits
from engine.models.sim import SimConfig
from tests.fake_openai import FakeOpenAIServer
from tests.test_openai import maker

MODEL = SimConfig(error_rate=0.02, seed=4)


def fleet_solve(*extra, env_urls=None):
    if env_urls is None:
        return maker("solve", "--headless", "--model", "flaky-model", "--json", *extra)
    return maker("solve", "--headless", "--model", "flaky-model", "--json", *extra, env={"OPENAI_BASE_URL": env_urls})


def test_two_servers_share_the_requests_and_the_summary_tells_each_ones_part():
    with FakeOpenAIServer(MODEL, delay_s=0.01, seed=1) as first, FakeOpenAIServer(MODEL, delay_s=0.01, seed=2) as second:
        result = fleet_solve("--disks", "6", "--base-url", first.base_url, "--base-url", second.base_url,
                             "--lookahead", "8")
        counts = (first.started, second.started)
        hosts = [first.base_url.split("/")[2], second.base_url.split("/")[2]]
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["solved"] and summary["errors"] == 0
    total = sum(counts)
    assert min(counts) >= 0.4 * total, counts
    assert [server["requests"] for server in summary["servers"]] == list(counts)
    assert [server["host"] for server in summary["servers"]] == hosts


def test_a_comma_separated_base_url_in_the_environment_is_a_fleet_too():
    with FakeOpenAIServer(MODEL, seed=1) as first, FakeOpenAIServer(MODEL, seed=2) as second:
        result = fleet_solve("--disks", "4", env_urls=f"{first.base_url}, {second.base_url}")
        counts = (first.started, second.started)
    assert result.returncode == 0, result.stderr[-2000:]
    assert min(counts) > 0 and len(json.loads(result.stdout)["servers"]) == 2


def test_a_server_killed_mid_run_is_set_aside_and_the_run_finishes_on_the_other():
    with FakeOpenAIServer(MODEL, delay_s=0.01, seed=1) as survivor, FakeOpenAIServer(MODEL, delay_s=0.01, seed=2) as doomed:
        def kill_after_some_requests() -> None:
            deadline = time.monotonic() + 60
            while doomed.started < 60 and time.monotonic() < deadline:
                time.sleep(0.005)
            doomed.kill()

        killer = threading.Thread(target=kill_after_some_requests)
        killer.start()
        result = fleet_solve("--disks", "7", "--base-url", f"{survivor.base_url},{doomed.base_url}",
                             "--lookahead", "16", "--retries", "4")
        killer.join()
        served_before_death = doomed.started
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["solved"] and summary["steps"] == 127 and summary["errors"] == 0
    alive, dead = summary["servers"]
    assert served_before_death >= 60
    assert dead["faults"].get("connection", 0) >= 1 and dead["set_aside"] >= 1
    assert alive["requests"] > dead["requests"]
    assert summary["transport_errors"]["connection"] == sum(s["faults"].get("connection", 0) for s in summary["servers"])


def test_rpm_caps_the_requests_the_server_sees_over_the_run():
    rpm = 3000  # 50 a second
    with FakeOpenAIServer(MODEL, seed=1) as server:
        result = fleet_solve("--disks", "5", "--base-url", server.base_url, "--rpm", str(rpm), "--lookahead", "8")
        times = server.request_times
    assert result.returncode == 0, result.stderr[-2000:]
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert len(times) >= 90 and rate <= rpm / 60 * 1.05, rate


def test_tpm_holds_back_a_request_until_its_tokens_fit_the_minute():
    async def wait_for_the_second() -> float:
        limits = RateLimits(tpm=60_000)  # 1,000 tokens a second once the minute's worth is used
        await limits.tokens(60_000)
        started = asyncio.get_running_loop().time()
        await limits.tokens(300)
        return asyncio.get_running_loop().time() - started

    assert asyncio.run(wait_for_the_second()) >= 0.25


def test_a_failing_server_is_rested_longer_each_time_and_asked_again_afterwards():
    now = [0.0]
    fleet = Fleet(["http://a/v1", "http://b/v1"], clock=lambda: now[0])
    a, b = fleet.servers
    assert fleet.pick() is a
    fleet.fault(a, "timeout")
    fleet.succeeded(a)  # a fault now and then is not a failing server
    assert a.strikes == 0 and fleet.pick() is a
    for _ in range(STRIKES):
        fleet.fault(a, "connection")
    assert a.rests == 1 and a.resting_until == 5.0
    b.in_flight = 10
    assert fleet.pick() is b  # resting: not asked, however busy the others are
    now[0] += 5.1
    assert fleet.pick() is a  # its rest is over: asked again
    for _ in range(STRIKES):
        fleet.fault(a, "server_error")
    assert a.rests == 2 and a.resting_until == now[0] + 10.0  # the second rest is twice as long
    now[0] += 9.9
    assert fleet.pick() is b
    now[0] += 0.2
    assert fleet.pick() is a
    fleet.fault(b, "rate_limited")  # pacing, not a failure
    assert b.strikes == 0 and b.faults["rate_limited"] == 1
    b.in_flight = 0
    a.resting_until = b.resting_until = now[0] + 1
    assert fleet.pick() is a  # all resting: the first to wake is asked


def test_bad_fleet_options_get_one_line_and_exit_2():
    cases = [
        ("solve", "--headless", "--rpm", "600"),  # a served model's option on the simulated one
        ("solve", "--headless", "--model", "m", "--base-url", "http://127.0.0.1:9/v1,ftp://x"),
        ("solve", "--headless", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--base-url", "http://127.0.0.1:9/v1"),
        ("solve", "--headless", "--model", "m", "--tpm", "0"),
    ]
    for args in cases:
        result = maker(*args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, (args, result.stderr)
        assert result.stderr.startswith("maker: error:"), result.stderr
