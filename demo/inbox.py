"""The demo inbox's receiving side: store a request and check its signature."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest

from deliveries import signing
from demo.models import InboxRequest
from subscriptions.headers import is_credential_name
from subscriptions.models import Endpoint

# Shown of each stored signature: enough to tell two apart, too little to replay one.
SIGNATURE_SHOWN = 8


def inbox_key(user) -> str:
    """The key (and URL segment) of the user's inbox: their id, unique where a slug of the
    username was not. Not a secret: anyone may post to an inbox (the signature column tells
    HookHub's requests apart); only its owner, or staff, may read it."""
    return str(user.pk)


def owner_id(inbox: str) -> int | None:
    """The id of the user whose inbox this is (inbox_key), None for any other key."""
    return int(inbox) if inbox.isdigit() else None


def signature_matches(url: str, headers: dict, body: bytes, owner: int | None) -> bool | None:
    """True if the request is signed by a current or grace-period secret of one of the inbox
    owner's endpoints pointing at `url` (another user's endpoint there proves nothing about
    this inbox); None when the owner has none."""
    if owner is None:
        return None
    endpoints = list(Endpoint.objects.filter(url=url, owner_id=owner))
    if not endpoints:
        return None
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    offered = {
        entry.split(",", 1)[1]
        for entry in headers.get("webhook-signature", "").split()
        if entry.startswith("v1,")
    }
    if not (msg_id and timestamp.isdigit() and offered):
        return False
    for endpoint in endpoints:
        expected = signing.sign(msg_id, int(timestamp), body, endpoint.signing_secrets())
        for entry in expected.split():
            value = entry.split(",", 1)[1]
            if any(hmac.compare_digest(value, got) for got in offered):
                return True
    return False


def stored_headers(headers: dict) -> dict:
    """What the inbox keeps of a request's headers: no credentials (Authorization, Cookie,
    *-Token, ...: anyone may post here, and the page shows them), and only the start of
    each signature."""
    kept = {}
    for name, value in headers.items():
        if name == "webhook-signature":
            kept[name] = " ".join(entry[:SIGNATURE_SHOWN] + "…" for entry in value.split())
        elif not is_credential_name(name):
            kept[name] = value
    return kept


def store(request: HttpRequest, inbox: str) -> InboxRequest:
    body = request.body
    headers = {name.lower(): value for name, value in request.headers.items()}
    url = request.build_absolute_uri()
    row = InboxRequest.objects.create(
        inbox=inbox,
        method=request.method,
        url=url,
        headers=stored_headers(headers),
        body=body[: settings.HOOKHUB_RESPONSE_BODY_CAP].decode("utf-8", "replace") if body else "",
        signature_valid=signature_matches(url, headers, body, owner_id(inbox)),
    )
    keep = settings.HOOKHUB_DEMO_INBOX_KEEP
    stale = InboxRequest.objects.filter(inbox=inbox).order_by("-id").values_list("id", flat=True)
    cutoff = list(stale[keep : keep + 1])
    if cutoff:
        InboxRequest.objects.filter(inbox=inbox, id__lte=cutoff[0]).delete()
    return row
