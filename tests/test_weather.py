"""A provider's weather over HTTP: rate limits found without --rpm, outages waited out, a patience
that ends a run resumably, slow replies raced, a proxy honoured. Through the real openai SDK to
the fake server on 127.0.0.1 (tests/fake_openai.py)."""

import json
import subprocess
import threading
import time

import pytest

from engine.models.sim import SimConfig
from engine.recording.reader import Recording
from tests.fake_openai import FakeOpenAIServer, Faults
from tests.forward_proxy import ForwardProxy
from tests.test_openai import maker, solve

MODEL = SimConfig(error_rate=0.01, seed=2)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                   "no_proxy")


@pytest.mark.parametrize("headers", [True, False], ids=["with-ratelimit-headers", "429s-alone"])
def test_a_6_disk_solve_given_no_rpm_finds_the_providers_limit(headers):
    rpm = 3000
    with FakeOpenAIServer(MODEL, rpm=rpm, rate_headers=headers, delay_s=0.02) as server:
        result = solve(server, "--disks", "6", "--json")
        limited, accepted = server.counts["limited"], server.counts["accepted"]
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["solved"] and summary["errors"] == 0 and summary["steps"] == 63
    wire = summary["wire"]
    assert wire["faults"].get("rate_limited", 0) == limited and wire["replies"] == accepted
    if headers:
        assert wire["limit_rpm"] == rpm and limited == 0  # it was told the limit, and kept under it
    else:
        # It slowed down at the 429s (how closely it settles on the limit: tests/test_rate.py).
        assert limited > 0 and wire["limit_rpm"] is not None and wire["rate_rpm"] is not None


def test_an_outage_longer_than_the_patience_stops_in_one_line_and_the_run_resumes(tmp_path):
    record = tmp_path / "outage.maker"
    with FakeOpenAIServer(MODEL, delay_s=0.01, outage_after=100, outage_s=30, outage_status=503) as server:
        stopped = solve(server, "--disks", "6", "--patience", "3", "--record", str(record), "--json")
        summary = json.loads(stopped.stdout)
        assert stopped.returncode == 1, stopped.stderr[-2000:]
        assert summary["stopped"] == "sampler_error" and 0 < summary["steps"] < 63
        message = summary["message"]
        assert "no reply from the model server for 3 s (--patience 3 s)" in message, message
        assert "server unavailable (503)" in message and "overloaded" in message, message
        assert summary["wire"]["faults"]["server_error"] >= 3
        with Recording.open(record) as recording:
            assert len(recording) == summary["steps"] and recording.meta.last_stop == "sampler_error"
            assert recording.meta.wire.faults["server_error"] == summary["wire"]["faults"]["server_error"]
        info = maker("info", str(record))
        assert info.returncode == 0 and "faults (retried)" in info.stdout and "5xx:" in info.stdout
        assert " s now" not in info.stdout  # a recording keeps what the run did, not how the wire was at its end
        server.outage(0)  # the provider is back
        resumed = maker("resume", str(record), "--base-url", server.base_url, "--json")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    final = json.loads(resumed.stdout)
    assert final["solved"] and final["errors"] == 0 and final["steps"] == 63
    with Recording.open(record) as recording:
        assert recording.complete
        wire = recording.meta.wire  # both sessions' requests, in the file and in the resumed run's summary
        assert wire.requests == final["wire"]["requests"] > summary["wire"]["requests"]
        assert wire.faults["server_error"] == final["wire"]["faults"]["server_error"]


def test_a_refused_key_mid_run_still_ends_it_at_once():
    """Retrying cannot mend a key the server stops accepting: one line, at once."""
    with FakeOpenAIServer(MODEL, delay_s=0.01) as server:
        def revoke():
            while server.started < 30:
                time.sleep(0.005)
            server.api_key = "another-key"

        threading.Thread(target=revoke, daemon=True).start()
        result = solve(server, "--disks", "6", "--patience", "600")
    assert result.returncode == 2, result.stderr
    assert "refused the API key from $OPENAI_API_KEY (401)" in result.stderr


def test_slow_replies_of_the_oldest_step_are_asked_again_and_the_first_reply_wins():
    slow = Faults(slow=0.08, slow_s=4.0)
    with FakeOpenAIServer(MODEL, slow, delay_s=0.05, seed=4) as server:
        result = solve(server, "--disks", "5", "--json", "--lookahead", "0", "--timeout", "30")
        slow_started, slow_answered = server.counts["slow"], server.counts["slow_answered"]
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["solved"] and summary["errors"] == 0
    # Those before 20 replies were timed are not raced (there is no median to call them slow by);
    # the others are, and the slow try is abandoned before the server sends its reply.
    assert slow_started >= 5 and summary["wire"]["hedged"] >= slow_started // 2
    assert slow_answered <= slow_started - summary["wire"]["hedged"]


def test_no_hedge_and_a_budget_turn_the_races_off():
    slow = Faults(slow=0.1, slow_s=1.0)
    for options in (["--no-hedge"], ["--budget-usd", "100", "--price-in", "1", "--price-out", "1"]):
        with FakeOpenAIServer(MODEL, slow, delay_s=0.01, seed=4) as server:
            result = solve(server, "--disks", "5", "--json", "--lookahead", "0", *options)
            slow_started = server.counts["slow"]
        assert result.returncode == 0, result.stderr[-2000:]
        summary = json.loads(result.stdout)
        assert slow_started >= 5 and summary["wire"]["hedged"] == 0, options


@pytest.mark.parametrize("how", ["HTTP_PROXY", "ALL_PROXY", "flag"])
def test_requests_go_through_a_proxy_from_the_environment_or_the_flag(how, monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with FakeOpenAIServer(MODEL) as server, ForwardProxy() as proxy:
        if how != "flag":
            result = maker("solve", "--headless", "--model", "flaky-model", "--base-url", server.base_url,
                           "--disks", "3", "--json", env={how: proxy.url})
        else:
            result = maker("solve", "--headless", "--model", "flaky-model", "--base-url", server.base_url,
                           "--disks", "3", "--json", "--proxy", proxy.url, env={"NO_PROXY": "127.0.0.1"})
        served = server.started
        forwarded = proxy.forwarded
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["solved"]
    assert served >= 21 and forwarded >= served  # every chat request (and the probe) went through it


def test_https_proxy_carries_requests_to_an_https_server_through_a_tunnel(tmp_path, monkeypatch):
    """OpenAI's case: an https server, reached through $HTTPS_PROXY by CONNECT."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                           "-out", str(cert)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"openssl could not make a certificate: {made.stderr.strip()[-200:]}")
    with FakeOpenAIServer(MODEL, tls=(str(cert), str(key))) as server, ForwardProxy() as proxy:
        assert server.base_url.startswith("https://")
        result = maker("solve", "--headless", "--model", "flaky-model", "--base-url", server.base_url,
                       "--disks", "3", "--json", env={"HTTPS_PROXY": proxy.url, "SSL_CERT_FILE": str(cert)})
        served, tunnels = server.started, proxy.tunnels
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["solved"] and served >= 21 and tunnels >= 1


def test_no_proxy_sends_requests_straight_to_the_server(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with FakeOpenAIServer(MODEL) as server, ForwardProxy() as proxy:
        result = maker("solve", "--headless", "--model", "flaky-model", "--base-url", server.base_url,
                       "--disks", "3", "--json", env={"HTTP_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"})
        forwarded = proxy.forwarded
    assert result.returncode == 0, result.stderr[-2000:]
    assert forwarded == 0


def test_a_proxy_that_cannot_be_used_is_one_line_and_exit_2():
    bad = maker("solve", "--headless", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--proxy", "ftp://x")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--proxy" in bad.stderr
    socks = maker("solve", "--headless", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
                  env={"ALL_PROXY": "socks5://127.0.0.1:1080"})
    assert socks.returncode == 2 and socks.stderr.count("\n") == 1, socks.stderr
    assert "proxy" in socks.stderr and "Traceback" not in socks.stderr
