"""The fake OpenAI server's provider-like limits and outages, and the forward proxy, tested with a
plain HTTP client (no engine), so benchmarks and engine tests can trust them.

What httpx2 (like httpx) does with proxies from the environment, found by trying it here:
it does NOT bypass localhost or 127.0.0.1 on its own, so ``HTTP_PROXY`` alone sends requests for
127.0.0.1 through the proxy; ``NO_PROXY=127.0.0.1`` bypasses it for that address only (not for
``localhost``, and ``NO_PROXY=localhost`` does not cover 127.0.0.1; ``127.0.0.0/8`` covers both
forms of address given as IPs); lowercase ``http_proxy`` / ``no_proxy`` win over the uppercase ones
(urllib's ``getproxies`` reads them); ``REQUEST_METHOD`` in the environment (a CGI script) makes it
ignore ``HTTP_PROXY``; the environment is read only when the client is made with
``trust_env=True`` (the default) and no ``transport=``, so a client given its own transport goes
direct; and an explicit ``proxy=`` ignores ``NO_PROXY`` altogether.
"""

from __future__ import annotations

import re
import socket
import time

import httpx2
import pytest

from tests.fake_openai import FakeOpenAIServer, openai_duration
from tests.forward_proxy import ForwardProxy

BODY = {"model": "flaky-model", "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 100}
DURATION = re.compile(r"^(\d+ms|(\d+h)?(\d+m)?\d+(\.\d+)?s)$")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD")


def chat(client: httpx2.Client, server: FakeOpenAIServer) -> httpx2.Response:
    return client.post(server.base_url + "/chat/completions", json=BODY)


def test_openai_durations():
    assert [openai_duration(s) for s in (0, 0.0001, 0.12, 0.9999, 1, 1.5, 20.262, 360, 90.5, 3723)] == [
        "0s", "1ms", "120ms", "1s", "1s", "1.5s", "20.262s", "6m0s", "1m30.5s", "1h2m3s"]


def test_the_request_bucket_lets_a_burst_through_then_answers_429_until_a_token_is_back():
    with FakeOpenAIServer(rpm=600, burst=2, rate_headers=True) as server, httpx2.Client() as client:
        assert client.get(server.base_url + "/models").status_code == 200  # not limited; opens the connection
        replies = [chat(client, server) for _ in range(3)]
        assert [reply.status_code for reply in replies] == [200, 200, 429]
        first, _, limited = replies
        assert first.headers["x-ratelimit-limit-requests"] == "600"
        remaining = [int(reply.headers["x-ratelimit-remaining-requests"]) for reply in replies]
        assert remaining == [1, 0, 0]
        assert all(DURATION.match(reply.headers["x-ratelimit-reset-requests"]) for reply in replies)
        assert "x-ratelimit-limit-tokens" not in first.headers  # no tpm set
        wait_ms = int(limited.headers["retry-after-ms"])
        assert 1 <= wait_ms <= 100
        assert limited.headers["retry-after"] == "1"
        error = limited.json()["error"]
        assert error["type"] == "requests" and error["code"] == "rate_limit_exceeded" and error["param"] is None
        assert error["message"].startswith("Rate limit reached for requests per min (RPM): Limit 600, Used 600, "
                                           "Requested 1. Please try again in ")
        time.sleep(wait_ms / 1000)
        assert chat(client, server).status_code == 200
    assert server.counts["accepted"] == 3 and server.counts["limited"] == 1
    assert server.counts["completions"] == 3 and server.started == 4
    assert len(server.accepted_times) == 3 and server.accepted_times == sorted(server.accepted_times)
    assert server.counts["rate_limited"] == 0  # the random fault is another thing


def test_without_rate_headers_only_a_429_carries_retry_after():
    with FakeOpenAIServer(rpm=60) as server, httpx2.Client() as client:
        ok, limited = chat(client, server), chat(client, server)
    assert ok.status_code == 200 and not any(name.startswith("x-ratelimit") for name in ok.headers)
    assert limited.status_code == 429 and not any(name.startswith("x-ratelimit") for name in limited.headers)
    assert 900 <= int(limited.headers["retry-after-ms"]) <= 1000  # one request a second, burst 1


def test_the_token_bucket_charges_prompt_and_max_tokens():
    with FakeOpenAIServer(tpm=6000, rate_headers=True) as server, httpx2.Client() as client:
        ok, limited = chat(client, server), chat(client, server)
    assert ok.status_code == 200 and limited.status_code == 429
    assert ok.headers["x-ratelimit-limit-tokens"] == "6000"
    assert ok.headers["x-ratelimit-remaining-tokens"] == "0"  # a request costlier than the bucket empties it
    error = limited.json()["error"]
    assert error["type"] == "tokens" and error["code"] == "rate_limit_exceeded"
    assert "tokens per min (TPM): Limit 6000" in error["message"]
    cost = int(re.search(r"Requested (\d+)", error["message"]).group(1))
    assert cost > 100  # its max_tokens and its prompt
    # The first request left the bucket (100 tokens, a second's worth) in debt: the second waits for
    # a full bucket, about the first's cost at 100 tokens a second.
    assert 0.9 * cost * 10 <= int(limited.headers["retry-after-ms"]) <= cost * 10
    assert server.counts["accepted"] == 1 and server.counts["limited"] == 1


def test_set_limits_raises_and_lowers_a_limit_while_the_server_runs():
    with FakeOpenAIServer(rpm=60, rate_headers=True) as server, httpx2.Client() as client:
        assert [chat(client, server).status_code for _ in range(2)] == [200, 429]
        server.set_limits(rpm=60_000)  # a thousand a second, a bucket of 1000 that keeps its ~0 tokens
        time.sleep(0.05)
        replies = [chat(client, server) for _ in range(10)]
        assert [reply.status_code for reply in replies] == [200] * 10
        assert replies[-1].headers["x-ratelimit-limit-requests"] == "60000"
        server.set_limits(rpm=60)  # clamped to the new bucket of one
        assert [chat(client, server).status_code for _ in range(3)].count(200) <= 1
        server.set_limits(rpm=None)
        assert [chat(client, server).status_code for _ in range(5)] == [200] * 5
    assert server.rpm is None


def test_an_outage_answers_503_for_its_duration_then_serves_again():
    with FakeOpenAIServer() as server, httpx2.Client() as client:
        server.outage(0.3)
        down_chat, down_models = chat(client, server), client.get(server.base_url + "/models")
        assert down_chat.status_code == down_models.status_code == 503
        assert down_chat.json() == {"error": {"message": "The server is overloaded or not ready yet.",
                                              "type": "server_error"}}
        assert server.outage_ended_at is not None and server.outage_started_at is not None
        assert server.outage_ended_at - server.outage_started_at == pytest.approx(0.3)
        time.sleep(max(0.0, server.outage_ended_at - time.monotonic()) + 0.01)
        assert chat(client, server).status_code == 200
        assert client.get(server.base_url + "/models").status_code == 200
    assert server.counts["outage"] == 2 and server.counts["completions"] == 1


def test_an_outage_after_some_chat_requests():
    with FakeOpenAIServer(outage_after=2, outage_s=0.2, outage_status=502) as server, httpx2.Client() as client:
        assert [chat(client, server).status_code for _ in range(4)] == [200, 200, 502, 502]
        assert server.outage_started_at is not None
        time.sleep(max(0.0, server.outage_ended_at - time.monotonic()) + 0.01)
        assert chat(client, server).status_code == 200
    assert server.counts["outage"] == 2 and server.counts["completions"] == 3


def test_a_request_through_the_proxy_arrives_and_is_counted():
    with (FakeOpenAIServer(rpm=60, rate_headers=True) as server, ForwardProxy() as proxy,
          httpx2.Client(proxy=proxy.url) as client):
        ok, limited = chat(client, server), chat(client, server)
        models = client.get(server.base_url + "/models")
        port = server.base_url.split(":")[2].split("/")[0]
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"]
    assert limited.status_code == 429 and int(limited.headers["retry-after-ms"]) > 0  # headers relayed
    assert limited.headers["x-ratelimit-limit-requests"] == "60"
    assert models.status_code == 200
    assert proxy.forwarded == 3 and proxy.counts["127.0.0.1"] == 3
    assert proxy.targets == {f"127.0.0.1:{port}": 3}
    assert server.counts["completions"] == 1 and server.counts["limited"] == 1
    assert server.requests[0]["max_tokens"] == 100  # the body arrived whole
    assert proxy.errors == []


def test_the_proxy_tunnels_connect():
    with FakeOpenAIServer() as server, ForwardProxy() as proxy:
        port = int(server.base_url.split(":")[2].split("/")[0])
        proxy_port = int(proxy.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", proxy_port), timeout=5) as tunnel:
            tunnel.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            reply = b""
            while b"\r\n\r\n" not in reply:
                reply += tunnel.recv(4096)
            assert reply.startswith(b"HTTP/1.1 200")
            tunnel.sendall(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := tunnel.recv(4096):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b"flaky-model" in answer
    assert proxy.tunnels == 1 and proxy.forwarded == 0 and proxy.counts["127.0.0.1"] == 1
    assert server.counts["models"] == 1


def test_the_proxy_answers_502_when_the_target_is_down():
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        dead = spare.getsockname()[1]  # bound, not listening: connections are refused
        with ForwardProxy() as proxy, httpx2.Client(proxy=proxy.url) as client:
            reply = client.get(f"http://127.0.0.1:{dead}/v1/models")
    assert reply.status_code == 502 and proxy.failed == 1


@pytest.fixture
def clean_proxy_environment(monkeypatch):
    """No proxy settings from the machine running the tests, in either case."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_http_proxy_from_the_environment_is_used_unless_no_proxy_names_the_host(clean_proxy_environment):
    """httpx2 does not exempt 127.0.0.1 by itself: HTTP_PROXY alone routes it through the proxy."""
    with FakeOpenAIServer() as server, ForwardProxy() as proxy:
        clean_proxy_environment.setenv("HTTP_PROXY", proxy.url)
        with httpx2.Client(trust_env=True) as client:
            assert chat(client, server).status_code == 200
        assert proxy.forwarded == 1
        with httpx2.Client(trust_env=False) as client:  # the environment ignored
            assert chat(client, server).status_code == 200
        assert proxy.forwarded == 1
        clean_proxy_environment.setenv("NO_PROXY", "127.0.0.1")
        with httpx2.Client(trust_env=True) as client:
            assert chat(client, server).status_code == 200
        assert proxy.forwarded == 1
        clean_proxy_environment.setenv("NO_PROXY", "localhost")  # a name, not the address: no bypass
        with httpx2.Client(trust_env=True) as client:
            assert chat(client, server).status_code == 200
        assert proxy.forwarded == 2
    assert server.counts["completions"] == 4
