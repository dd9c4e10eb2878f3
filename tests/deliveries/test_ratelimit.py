"""Endpoint.rate_limit's shared slots (deliveries.ratelimit): spaced 1/rate apart, reserved
only within the hold, in the database and (with REDIS_URL) in Redis alike."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.conf import settings as django_settings

from deliveries import ratelimit
from deliveries.models import RateSlot


def _check_spacing(waits: list[ratelimit.Slot]) -> None:
    reserved = [slot for slot in waits if slot.reserved]
    # Rate 5 and a 1 s hold: slots now, +0.2, ... +1.0 are reserved; the next is not.
    assert len(reserved) == 6
    for number, slot in enumerate(reserved):
        assert slot.wait == pytest.approx(number * 0.2, abs=0.05)
    refused = waits[6]
    assert not refused.reserved and refused.wait == pytest.approx(1.2, abs=0.05)


@pytest.mark.django_db
def test_database_slots_are_spaced_and_reserved_only_within_the_hold(make_endpoint, settings):
    settings.HOOKHUB_RATE_LIMIT_HOLD = 1.0
    endpoint = make_endpoint()
    _check_spacing([ratelimit.reserve_in_database(endpoint.pk, 5) for _ in range(8)])
    # A refused reservation moved nothing: the stored next slot is the seventh's.
    slot = RateSlot.objects.get(endpoint=endpoint)
    assert slot.next_at > 0


@pytest.mark.django_db
def test_each_endpoint_has_its_own_slots(make_endpoint):
    first, second = make_endpoint("/a"), make_endpoint("/b")
    assert ratelimit.reserve_in_database(first.pk, 1).wait == pytest.approx(0, abs=0.05)
    assert ratelimit.reserve_in_database(second.pk, 1).wait == pytest.approx(0, abs=0.05)
    assert ratelimit.reserve_in_database(first.pk, 1).wait == pytest.approx(1, abs=0.05)


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs REDIS_URL")
def test_redis_slots_follow_the_same_rule(settings):
    settings.HOOKHUB_RATE_LIMIT_HOLD = 1.0
    endpoint_id = uuid.uuid4().int % 10**9  # a key no other test uses

    async def reserve_eight():
        store = ratelimit.RedisSlots(django_settings.REDIS_URL)
        try:
            return [await store.reserve(endpoint_id, 5) for _ in range(8)]
        finally:
            await store.close()

    _check_spacing(asyncio.run(reserve_eight()))
