from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from demo import inbox as inbox_store
from demo.models import InboxRequest


@csrf_exempt  # a webhook receiver: the sender has no session and no CSRF token
@require_http_methods(["POST", "PUT", "PATCH"])
def inbox_receive(request: HttpRequest, inbox: str) -> HttpResponse:
    row = inbox_store.store(request, inbox)
    return JsonResponse({"received": True, "id": row.pk})


@login_required
def inbox_page(request: HttpRequest) -> HttpResponse:
    """Your inbox (named after your username); staff may look at any with ?inbox=."""
    name = slugify(request.user.get_username()) or "inbox"
    if request.user.is_staff and request.GET.get("inbox"):
        name = slugify(request.GET["inbox"])
    rows = list(InboxRequest.objects.filter(inbox=name).order_by("-id")[:50])
    inboxes = []
    if request.user.is_staff:
        inboxes = list(
            InboxRequest.objects.order_by("inbox").values_list("inbox", flat=True).distinct()
        )
    return render(
        request,
        "demo/inbox.html",
        {
            "inbox": name,
            "inbox_url": request.build_absolute_uri(reverse("demo:inbox-receive", args=[name])),
            "rows": rows,
            "inboxes": inboxes,
            "refresh_seconds": settings.HOOKHUB_PENDING_REFRESH * 2,
        },
    )
