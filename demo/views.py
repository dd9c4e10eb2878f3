from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from demo import inbox as inbox_store
from demo.models import InboxRequest

# What the <slug:inbox> segment accepts, so a staff pick always has a URL.
KEY = re.compile(r"[-a-zA-Z0-9_]+")


@csrf_exempt  # a webhook receiver: the sender has no session and no CSRF token
@require_http_methods(["POST", "PUT", "PATCH"])
def inbox_receive(request: HttpRequest, inbox: str) -> HttpResponse:
    row = inbox_store.store(request, inbox)
    return JsonResponse({"received": True, "id": row.pk})


@login_required
def inbox_page(request: HttpRequest) -> HttpResponse:
    """Your own inbox; staff may look at any with ?inbox=<key>."""
    key = inbox_store.inbox_key(request.user)
    picked = request.GET.get("inbox", "")
    if request.user.is_staff and picked and KEY.fullmatch(picked):
        key = picked
    rows = list(InboxRequest.objects.filter(inbox=key).order_by("-id")[:50])
    inboxes = []
    if request.user.is_staff:
        keys = list(
            InboxRequest.objects.order_by("inbox").values_list("inbox", flat=True).distinct()
        )
        owners = _owners(keys + [key])
        inboxes = [(name, owners.get(name)) for name in keys]
    else:
        owners = {key: request.user.get_username()}
    return render(
        request,
        "demo/inbox.html",
        {
            "inbox": key,
            "owner": owners.get(key),
            "inbox_url": request.build_absolute_uri(reverse("demo:inbox-receive", args=[key])),
            "rows": rows,
            "inboxes": inboxes,
            "refresh_seconds": settings.HOOKHUB_PENDING_REFRESH * 2,
        },
    )


def _owners(keys: list[str]) -> dict[str, str]:
    """Inbox key -> its owner's username, for the keys that are a user's."""
    users = get_user_model().objects.filter(
        pk__in=[int(k) for k in keys if k.isdigit() and len(k) < 19]
    )
    return {inbox_store.inbox_key(user): user.get_username() for user in users}
