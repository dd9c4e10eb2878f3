"""The staff overview lists endpoints failing now: whose, since when, how many of the
warnings their owner has had, and when HookHub will disable them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import Endpoint
from tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db


def test_failing_endpoints_show_owner_streak_warnings_and_disable_time(
    staff_client, owner, settings
):
    settings.HOOKHUB_WARN_AFTER = [86400, 3 * 86400]
    settings.HOOKHUB_DISABLE_AFTER = 5 * 86400
    since = timezone.now().replace(second=0, microsecond=0) - timedelta(days=2)
    failing = EndpointFactory(owner=owner, url="https://failing.example.com/hook")
    Endpoint.objects.filter(pk=failing.pk).update(failing_since=since, failure_warnings_sent=1)
    EndpointFactory(owner=owner, url="https://healthy.example.com/hook")
    paused = EndpointFactory(owner=owner, url="https://paused.example.com/hook")
    Endpoint.objects.filter(pk=paused.pk).update(state="paused", failing_since=since)

    response = staff_client.get(reverse("dashboard:review-overview"))
    assert response.status_code == 200
    body = response.content.decode()
    table = body[body.index('id="failing-endpoints"') :]
    table = table[: table.index("</table>")]
    assert "https://failing.example.com/hook" in table
    assert "healthy.example.com" not in table and "paused.example.com" not in table
    assert owner.username in table and "1 of 2 warnings" in table
    assert f"{since:%Y-%m-%d %H:%M} UTC" in table
    assert f"{since + timedelta(days=5):%Y-%m-%d %H:%M} UTC" in table


def test_no_failing_endpoint_says_so(staff_client, owner):
    EndpointFactory(owner=owner)
    body = staff_client.get(reverse("dashboard:review-overview")).content.decode()
    assert "None: no enabled endpoint is in a failure streak." in body
