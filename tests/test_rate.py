"""The client-side rate (engine.models.rate): it finds a provider's limit from 429s alone, follows
the limit when it rises, takes the provider's headers at their word, and keeps --rpm as a ceiling.
Time is simulated: no test here waits."""

import heapq
import math

import pytest

from engine.models.rate import BETA, HEADER_MARGIN, Limits, SendRate, TokenRate, parse_duration, read_limits


class Provider:
    """A provider's request limit as a token bucket of ``rpm`` a minute holding one second's worth."""

    def __init__(self, rpm: float) -> None:
        self.rate = rpm / 60
        self.level = self.rate
        self.at = 0.0

    def admit(self, now: float) -> bool:
        self.level = min(self.rate, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level >= 1:
            self.level -= 1
            return True
        return False


def simulate(provider: Provider, until: float, *, latency: float = 0.2, in_flight: int = 64,
             rate_change: tuple[float, float] | None = None, sender: SendRate | None = None):
    """A client that always has requests to send, at most ``in_flight`` at once, through a
    SendRate, against ``provider``; returns the times of accepted requests and of 429s."""
    rate = sender or SendRate(None, 0.0)
    now, replies, accepted, throttled = 0.0, [], [], []
    while now < until:
        if rate_change is not None and now >= rate_change[0]:
            provider.rate, rate_change = rate_change[1] / 60, None
        while replies and replies[0][0] <= now:
            at, sent_at, ok = heapq.heappop(replies)
            if ok:
                rate.succeeded(at)
            else:
                rate.throttled(at, sent_at)
        wait = rate.delay(now)
        if len(replies) >= in_flight:
            now = max(now, replies[0][0])
            continue
        if wait > 0:
            now = min(now + wait, replies[0][0]) if replies else now + wait
            continue
        rate.sent(now)
        ok = provider.admit(now)
        (accepted if ok else throttled).append(now)
        heapq.heappush(replies, (now + latency, now, ok))
        now += 1e-4  # a request takes a moment to send
    return accepted, throttled, rate


def rate_between(times, start, end):
    return sum(1 for t in times if start <= t < end) / (end - start) * 60


def test_nothing_holds_requests_back_before_the_first_429():
    rate = SendRate(None, 0.0)
    for step in range(1000):
        assert rate.delay(step * 1e-3) == 0.0
        rate.sent(step * 1e-3)
    assert math.isinf(rate.rate) and rate.objected_at is None


def test_from_429s_alone_the_rate_settles_just_under_the_limit():
    accepted, throttled, rate = simulate(Provider(600), until=120)
    late = rate_between(accepted, 60, 120)
    assert 0.85 * 600 <= late <= 600 + 10, late  # the provider's bucket holds ten more
    assert 0 < rate_between(throttled, 60, 120) < 0.1 * 600  # a 429 now and then, not a storm
    assert 0.8 * 600 <= rate.objected_at * 60 <= 1.25 * 600


def test_when_the_limit_rises_the_rate_follows_within_seconds():
    accepted, _, _ = simulate(Provider(600), until=120, rate_change=(60, 1500))
    assert rate_between(accepted, 40, 60) <= 600 + 30  # ten saved up, in twenty seconds
    assert rate_between(accepted, 75, 120) >= 0.8 * 1500


def test_a_429_for_a_request_sent_before_the_last_drop_says_nothing_new():
    rate = SendRate(None, 0.0)
    for step in range(200):  # 100 a second for two seconds
        rate.sent(step * 0.01)
    rate.throttled(2.0, sent_at=1.9)
    dropped = rate.rate
    assert dropped == pytest.approx(BETA * rate.measured, rel=0.01)
    for late in (1.95, 1.99, 1.999):  # the others in flight when the limit was hit
        rate.throttled(2.05, sent_at=late)
    assert rate.rate == dropped and rate.throttles == 1
    rate.throttled(2.5, sent_at=2.1)  # sent after the drop: the limit is lower still
    assert rate.rate < dropped and rate.throttles == 2


def test_the_providers_headers_set_the_limit_at_once_and_none_left_holds_requests_back():
    headers = {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "0",
               "x-ratelimit-reset-requests": "120ms", "x-ratelimit-limit-tokens": "150000"}
    limits = read_limits(headers, "requests")
    assert limits == Limits(600.0, 0.0, 0.12)
    rate = SendRate(None, 0.0)
    rate.learn(limits, 0.0)
    assert rate.rate == pytest.approx(10 * HEADER_MARGIN)
    assert rate.delay(0.0) == pytest.approx(0.1)  # none left: the next is due in a tenth of a second
    accepted, throttled, _ = simulate(Provider(600), until=60, sender=rate)
    assert not throttled and rate_between(accepted, 10, 60) >= 0.94 * 600
    tokens = TokenRate(None, 0.0)
    tokens.learn(read_limits(headers, "tokens"), 0.0)
    assert tokens.rate == pytest.approx(2500 * HEADER_MARGIN)


def test_rpm_is_a_ceiling_over_everything():
    rate = SendRate(300, 0.0)
    rate.learn(Limits(6000, None, None), 0.0)
    assert rate.rate == 5.0
    accepted, throttled, _ = simulate(Provider(6000), until=30, sender=rate)
    assert rate_between(accepted, 1, 30) <= 300 * 1.01 and not throttled


@pytest.mark.parametrize(("text", "seconds"), [("1s", 1.0), ("6m0s", 360.0), ("1m30.5s", 90.5), ("120ms", 0.12),
                                               ("2", 2.0), ("1h2m3s", 3723.0), ("soon", None), ("5x", None)])
def test_durations_in_the_providers_headers(text, seconds):
    assert parse_duration(text) == seconds


def test_headers_without_a_limit_say_nothing():
    assert read_limits({}, "requests") is None
    assert read_limits({"x-ratelimit-limit-requests": "lots"}, "requests") is None
    assert read_limits({"x-ratelimit-limit-requests": "0"}, "requests") is None


def test_tpm_holds_a_request_back_until_its_tokens_fit_the_minute():
    tokens = TokenRate(60_000, 0.0)  # 1,000 a second, a minute's worth saved up at most
    assert tokens.delay(0.0, 60_000) == 0.0
    tokens.sent(0.0, 60_000)
    assert tokens.delay(0.0, 300) == pytest.approx(0.3)  # three tenths of a second for 300 more
    assert tokens.delay(0.3, 300) == 0.0
    unlimited = TokenRate(None, 0.0)
    unlimited.sent(0.0, 10**9)
    assert unlimited.delay(0.0, 10**9) == 0.0
