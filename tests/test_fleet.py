"""A fleet of servers, and the client-side rate limits, against real HTTP servers on 127.0.0.1."""

import json
import threading
import time

from engine.models.fleet import FIRST_PROBE_S, LONGEST_PROBE_S, STRIKES, Fleet
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
    assert [server["requests"] for server in summary["wire"]["servers"]] == list(counts)
    assert [server["host"] for server in summary["wire"]["servers"]] == hosts


def test_a_comma_separated_base_url_in_the_environment_is_a_fleet_too():
    with FakeOpenAIServer(MODEL, seed=1) as first, FakeOpenAIServer(MODEL, seed=2) as second:
        result = fleet_solve("--disks", "4", env_urls=f"{first.base_url}, {second.base_url}")
        counts = (first.started, second.started)
    assert result.returncode == 0, result.stderr[-2000:]
    assert min(counts) > 0 and len(json.loads(result.stdout)["wire"]["servers"]) == 2


def test_a_server_killed_mid_run_is_taken_down_and_the_run_finishes_on_the_other():
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
    alive, dead = summary["wire"]["servers"]
    assert served_before_death >= 60
    assert dead["faults"].get("connection", 0) >= 1 and dead["times_down"] >= 1
    assert alive["requests"] > dead["requests"]
    assert summary["wire"]["faults"]["connection"] == sum(s["faults"].get("connection", 0) for s in summary["wire"]["servers"])


def test_rpm_caps_the_requests_the_server_sees_over_the_run():
    rpm = 3000  # 50 a second
    with FakeOpenAIServer(MODEL, seed=1) as server:
        result = fleet_solve("--disks", "5", "--base-url", server.base_url, "--rpm", str(rpm), "--lookahead", "8")
        times = server.request_times
    assert result.returncode == 0, result.stderr[-2000:]
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert len(times) >= 90 and rate <= rpm / 60 * 1.05, rate


def test_a_server_that_keeps_failing_goes_down_gets_probes_further_apart_and_comes_back_on_a_reply():
    now = [0.0]
    fleet = Fleet(["http://a/v1", "http://b/v1"], clock=lambda: now[0], jitter=lambda: 0.5)  # no spread
    a, b = fleet.servers

    def attempt(server, outcome):
        fleet.sent(server)
        if outcome == "ok":
            fleet.succeeded(server)
        else:
            fleet.fault(server, outcome, outcome)

    assert fleet.pick() is a
    attempt(a, "timeout")
    attempt(a, "ok")  # a fault now and then is not a failing server
    assert a.strikes == 0 and not a.down
    for _ in range(STRIKES):
        attempt(a, "connection")
    assert a.down and a.times_down == 1 and a.next_probe_at == FIRST_PROBE_S
    b.in_flight = 10
    assert fleet.pick() is b  # down: not asked, however busy the others are
    now[0] = FIRST_PROBE_S
    assert fleet.pick() is a  # its probe is due
    fleet.sent(a)
    assert a.probing and fleet.pick() is b  # one probe at a time
    fleet.fault(a, "server_error", "server unavailable (503)")
    assert a.next_probe_at == now[0] + 2 * FIRST_PROBE_S  # the next probe waits twice as long
    for _ in range(10):
        now[0] = a.next_probe_at
        attempt(a, "server_error")
    assert a.next_probe_at - now[0] == LONGEST_PROBE_S and a.times_down == 1
    assert fleet.reports()[0].down_s == round(now[0], 1)  # down since the third strike, at 0
    attempt(b, "rate_limited")  # pacing, not a failure
    assert b.strikes == 0 and b.faults["rate_limited"] == 1 and not b.down
    now[0] = a.next_probe_at
    attempt(a, "ok")  # the probe succeeded: back up
    assert not a.down and fleet.reports()[0].down_s is None and fleet.reports()[0].times_down == 1


def test_when_every_server_is_down_nothing_is_picked_until_a_probe_is_due():
    now = [0.0]
    fleet = Fleet(["http://only/v1"], clock=lambda: now[0], jitter=lambda: 0.5)
    (only,) = fleet.servers
    for _ in range(STRIKES):
        fleet.sent(only)
        fleet.fault(only, "server_error", "server unavailable (503)")
    assert fleet.pick() is None and fleet.next_probe_at() == FIRST_PROBE_S
    now[0] = FIRST_PROBE_S
    assert fleet.pick() is only


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
