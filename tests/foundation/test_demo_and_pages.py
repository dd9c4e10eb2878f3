import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from subscriptions.models import EventType

pytestmark = pytest.mark.django_db


def snapshot():
    users = sorted(get_user_model().objects.values_list("username", "is_staff", "password"))
    types = sorted(EventType.objects.values_list("name", "source", "archived", "version"))
    return users, types


def test_demo_data_is_idempotent():
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = snapshot()
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert snapshot() == first
    names = {name for name, *_ in first[1]}
    assert {"new-subscription", "usage-threshold-reached"} <= names
    assert {(u, s) for u, s, _ in first[0]} == {("admin", True), ("alice", False)}


def test_demo_users_can_sign_in_with_the_printed_credentials(client):
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    response = client.post(reverse("login"), {"username": "alice", "password": "hookhub-alice"})
    assert response.status_code == 302
    assert response.url == reverse("home")  # which sends subscribers to their endpoints


def test_code_declared_new_subscription_is_synced_with_its_three_fields():
    row = EventType.objects.get(name="new-subscription")
    assert row.source == EventType.Source.CODE
    assert row.schema["properties"] == {
        "username": {"type": "string"},
        "monthly_fee": {"type": "number", "format": "double"},
        "start_date": {"type": "string", "format": "date-time"},
    }
    assert sorted(row.schema["required"]) == ["monthly_fee", "start_date", "username"]


def test_dashboard_requires_login(client):
    url = reverse("dashboard:endpoint-list")
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_login_page_renders_with_local_static_css(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Sign in to HookHub" in body
    assert "/static/hookhub/hookhub.css" in body
    assert "https://" not in body


def test_signed_in_user_sees_only_their_endpoints(owner_client, owner, outsider):
    from tests.factories import EndpointFactory

    mine = EndpointFactory(owner=owner, url="https://mine.example.com/hook")
    EndpointFactory(owner=outsider, url="https://theirs.example.com/hook")
    response = owner_client.get(reverse("dashboard:endpoint-list"))
    assert response.status_code == 200
    assert mine.url in response.content.decode()
    assert "theirs.example.com" not in response.content.decode()


def test_create_api_token_prints_a_token_and_refuses_unknown_users(owner):
    from io import StringIO

    from django.core.management.base import CommandError

    from subscriptions.models import ApiToken

    out = StringIO()
    call_command("create_api_token", owner.username, stdout=out)
    key = out.getvalue().strip()
    assert ApiToken.objects.get(key_hash=ApiToken.hash_key(key)).user == owner
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_api_token", "nobody")
