"""Request limits, counted in Django's cache: the API's throttles, the dashboard's "Send test"
button (the same counter as the API's test route) and failed API token attempts.

Every rate is a HOOKHUB_THROTTLE_* setting read at request time (DRF's own throttles read
THROTTLE_RATES once, at import, where override_settings and a changed setting never reach).
Counts live in the HOOKHUB_THROTTLE_CACHE cache: Redis when REDIS_URL is set, so a limit
holds across processes and hosts; per process otherwise.

A window starts at its first request and lasts the rate's unit; its count is an atomic
`add`/`incr`, so concurrent requests on several hosts never lose one (DRF's
SimpleRateThrottle rewrites a list of timestamps per request, which they can). A client may
fit two windows' worth into a moment across a window's end; the limits are for abuse, not
accounting. A cache that fails lets the request through (logged): an outage of the counters
must not become an outage of the API."""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from hookhub.rates import Rate, parse_rate
from subscriptions.login_security import client_ip

logger = logging.getLogger(__name__)

KEY_PREFIX = "hookhub-throttle"


def client_address(request: HttpRequest) -> str:
    """The address requests are counted under: the one sign-in throttling uses
    (HOOKHUB_TRUSTED_PROXY_COUNT decides whether X-Forwarded-For is believed), never DRF's,
    which takes X-Forwarded-For from anyone when NUM_PROXIES is unset."""
    return client_ip(request) or "unknown"


def _rate(setting: str) -> Rate | None:
    return parse_rate(getattr(settings, setting))


def _window(key: str, rate: Rate, *, count: bool) -> tuple[int, float]:
    """The requests counted under `key` in its current window, this one included when
    `count`, and the seconds until that window ends (0 when none is open)."""
    cache = caches[settings.HOOKHUB_THROTTLE_CACHE]
    now = time.time()
    start_key = f"{KEY_PREFIX}:{key}:start"
    if count:
        cache.add(start_key, now, rate.seconds)
    start = cache.get(start_key)
    if start is None:
        if not count:
            return 0, 0.0
        start = now  # the window ended between add and get: count in a new one
    counter = f"{KEY_PREFIX}:{key}:{start:.6f}"
    remaining = max(start + rate.seconds - now, 0.0)
    if not count:
        return cache.get(counter, 0), remaining
    if cache.add(counter, 1, rate.seconds):
        return 1, remaining
    try:
        return cache.incr(counter), remaining
    except ValueError:  # expired between add and incr
        cache.add(counter, 1, rate.seconds)
        return 1, remaining


def _retry_after(remaining: float) -> int:
    """Whole seconds for Retry-After: at least 1 (DRF leaves the header out for 0)."""
    return max(math.ceil(remaining), 1)


class RateThrottle(BaseThrottle):
    """A DRF throttle allowing `rate_setting`'s rate per `ident` in `scope`."""

    scope = ""
    rate_setting = ""

    def __init__(self) -> None:
        self._wait: int | None = None

    def ident(self, request) -> str | None:
        """Whose requests count together; None when this throttle is not for the request."""
        raise NotImplementedError

    def get_ident(self, request) -> str:
        return client_address(request)

    def allow_request(self, request, view) -> bool:
        rate = _rate(self.rate_setting)
        ident = self.ident(request) if rate is not None else None
        if ident is None:
            return True
        try:
            seen, remaining = _window(f"{self.scope}:{ident}", rate, count=True)
        except Exception:
            logger.exception("Throttle cache failed; letting the request through")
            return True
        if seen <= rate.count:
            return True
        self._wait = _retry_after(remaining)
        return False

    def wait(self) -> int | None:
        return self._wait


class UserThrottle(RateThrottle):
    """Every API request of a signed-in user or token, together (HOOKHUB_THROTTLE_USER)."""

    scope = "user"
    rate_setting = "HOOKHUB_THROTTLE_USER"

    def ident(self, request) -> str | None:
        user = request.user
        return f"user:{user.pk}" if user and user.is_authenticated else None


class AnonThrottle(RateThrottle):
    """Requests without credentials, per client address (HOOKHUB_THROTTLE_ANON). Only the
    views open to anyone (the schema and docs) see them: DRF checks permissions first, so an
    anonymous request to the rest is a 401 before any throttle counts it."""

    scope = "anon"
    rate_setting = "HOOKHUB_THROTTLE_ANON"

    def ident(self, request) -> str | None:
        user = request.user
        if user and user.is_authenticated:
            return None
        return f"address:{self.get_ident(request)}"


class PerUserThrottle(RateThrottle):
    """A stricter limit for one kind of request, per user (per address without one)."""

    def ident(self, request) -> str:
        user = request.user
        if user and user.is_authenticated:
            return f"user:{user.pk}"
        return f"address:{self.get_ident(request)}"


class SendTestThrottle(PerUserThrottle):
    """Test sends, each an outbound request to a URL the subscriber chose: the API's
    POST /api/v1/endpoints/{id}/test/ and the dashboard's "Send test" button, one counter."""

    scope = "test_send"
    rate_setting = "HOOKHUB_THROTTLE_TEST_SEND"


class EndpointCreateThrottle(PerUserThrottle):
    scope = "endpoint_create"
    rate_setting = "HOOKHUB_THROTTLE_ENDPOINT_CREATE"


class PublishThrottle(PerUserThrottle):
    """Publishing (POST /api/v1/events/ and /events/batch/): a budget of its own, instead of
    the general per-user one, sized for a provider's bursts."""

    scope = "publish"
    rate_setting = "HOOKHUB_THROTTLE_PUBLISH"


def refusal(throttle_class: type[RateThrottle], request: HttpRequest) -> int | None:
    """Count a request outside DRF (a dashboard view) against `throttle_class`'s limit, in
    the counter its API route uses: None when allowed, else the seconds to wait."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    return throttle.wait()


# --- Failed API tokens ----------------------------------------------------------------------
# DRF authenticates before it throttles, so a bad token never reaches the throttles above:
# hookhub.api.authentication counts failures here, per client address.


def refuse_if_too_many_bad_tokens(request) -> None:
    """Raise Throttled (429 with Retry-After) when the client's address is over
    HOOKHUB_THROTTLE_BAD_TOKENS failed token attempts in the current window.

    Every token from that address is refused until the window ends, the right one too: if a
    correct token still got through, each guess would still have to be looked up, and the
    answer (429 for wrong, 200 for right) would tell a guesser exactly what an unthrottled
    401 does, so the limit would bound nothing. The price, a client sharing an address with
    a guesser waits out the window, is paid only by token clients (signed-in dashboard users
    are not refused) and bounded by the window. Attempts already in flight when the limit is
    reached still count, so concurrency can overshoot it by that many."""
    rate = _rate("HOOKHUB_THROTTLE_BAD_TOKENS")
    if rate is None:
        return
    try:
        failures, remaining = _window(_bad_token_key(request), rate, count=False)
    except Exception:
        logger.exception("Throttle cache failed; not checking failed token attempts")
        return
    if failures >= rate.count:
        raise exceptions.Throttled(
            wait=_retry_after(remaining),
            detail="Too many failed API token attempts from your address.",
        )


def record_bad_token(request) -> None:
    rate = _rate("HOOKHUB_THROTTLE_BAD_TOKENS")
    if rate is None:
        return
    try:
        _window(_bad_token_key(request), rate, count=True)
    except Exception:
        logger.exception("Throttle cache failed; a failed token attempt was not counted")


def _bad_token_key(request) -> str:
    return f"bad_token:address:{client_address(request)}"
