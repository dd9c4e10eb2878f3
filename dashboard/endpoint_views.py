"""A subscriber's endpoint pages and the event catalogue. Every change goes through
subscriptions.services; the delivery figures come from deliveries.stats."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from deliveries import stats
from subscriptions import access, services, wire
from subscriptions.forms import EndpointForm, SendTestForm
from subscriptions.models import EventType


@login_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = list(
        access.endpoints_for(request.user)
        .prefetch_related("event_types")
        .order_by("-created_at", "-id")
    )
    health = stats.endpoint_health(endpoints)
    rows = [(endpoint, health[endpoint.pk]) for endpoint in endpoints]
    return render(request, "subscriptions/endpoint_list.html", {"rows": rows})


def _detail_context(request: HttpRequest, endpoint, **extra) -> dict:
    now = timezone.now()
    grace_active = bool(
        endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now
    )
    return {
        "endpoint": endpoint,
        "test_form": SendTestForm(),
        "grace_active": grace_active,
        "recent": stats.recent_deliveries(endpoint),
        **extra,
    }


@login_required
def endpoint_detail(request: HttpRequest, uid) -> HttpResponse:
    endpoint = access.get_endpoint_or_404(request.user, uid)
    return render(request, "subscriptions/endpoint_detail.html", _detail_context(request, endpoint))


@login_required
def endpoint_create(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = services.create_endpoint(
            request.user, form.endpoint_values(), actor=request.user, request=request
        )
        messages.success(request, "Endpoint added. Copy its signing secret from this page.")
        return redirect(endpoint)
    return render(request, "subscriptions/endpoint_form.html", {"form": form, "endpoint": None})


@login_required
def endpoint_edit(request: HttpRequest, uid) -> HttpResponse:
    endpoint = access.get_endpoint_or_404(request.user, uid)
    form = EndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        services.update_endpoint(
            endpoint, form.endpoint_values(), actor=request.user, request=request
        )
        messages.success(request, "Endpoint saved.")
        return redirect(endpoint)
    return render(request, "subscriptions/endpoint_form.html", {"form": form, "endpoint": endpoint})


@login_required
def endpoint_delete(request: HttpRequest, uid) -> HttpResponse:
    endpoint = access.get_endpoint_or_404(request.user, uid)
    if request.method == "POST":
        services.delete_endpoint(endpoint, actor=request.user, request=request)
        messages.success(request, f"Endpoint {endpoint.url} deleted.")
        return redirect("dashboard:endpoint-list")
    return render(request, "subscriptions/endpoint_confirm_delete.html", {"endpoint": endpoint})


@login_required
@require_POST
def endpoint_pause(request: HttpRequest, uid) -> HttpResponse:
    endpoint = access.get_endpoint_or_404(request.user, uid)
    if services.pause_endpoint(endpoint, actor=request.user, request=request):
        messages.success(
            request, "Endpoint paused. New events are not sent to it until you resume."
        )
    else:
        messages.info(request, "This endpoint is already paused.")
    return redirect(endpoint)


@login_required
@require_POST
def endpoint_resume(request: HttpRequest, uid) -> HttpResponse:
    endpoint = access.get_endpoint_or_404(request.user, uid)
    if services.enable_endpoint(endpoint, actor=request.user, request=request):
        messages.success(request, "Endpoint enabled. New events are sent to it again.")
    else:
        messages.info(request, "This endpoint is already enabled.")
    return redirect(endpoint)


@never_cache
@login_required
@require_POST
def secret_reveal(request: HttpRequest, uid) -> HttpResponse:
    """Shows the secret in this response only (never in a URL or a redirect), and audits who
    looked. `never_cache` keeps it out of the browser's cache."""
    endpoint = access.get_endpoint_or_404(request.user, uid)
    secret = services.reveal_secret(endpoint, actor=request.user, request=request)
    context = _detail_context(request, endpoint, revealed_secret=secret)
    return render(request, "subscriptions/endpoint_detail.html", context)


@login_required
@require_POST
def secret_rotate(request: HttpRequest, uid) -> HttpResponse:
    endpoint = access.get_endpoint_or_404(request.user, uid)
    services.rotate_secret(endpoint, actor=request.user, request=request)
    until = timezone.localtime(endpoint.previous_secret_expires_at)
    messages.success(
        request,
        f"New signing secret created. The old one keeps signing until {until:%Y-%m-%d %H:%M %Z}.",
    )
    return redirect(endpoint)


@login_required
def webhook_catalogue(request: HttpRequest) -> HttpResponse:
    """The events a subscriber can receive, with payloads and a receiver to copy."""
    entries = []
    for event_type in EventType.objects.filter(archived=False).order_by("name"):
        example = event_type.example if event_type.example is not None else {}
        envelope = wire.example(event_type.name, example)
        entries.append(
            {
                "type": event_type,
                "envelope": json.dumps(envelope, indent=2),
                "schema": json.dumps(event_type.schema, indent=2),
            }
        )
    return render(request, "subscriptions/webhooks.html", {"entries": entries})
