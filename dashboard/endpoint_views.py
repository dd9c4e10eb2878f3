"""A subscriber's endpoint pages and the event catalogue. Every change goes through
subscriptions.services; the delivery figures come from deliveries.stats."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dashboard.forms import EndpointOwnerFilterForm
from deliveries import activity, stats
from subscriptions import access, services, wire
from subscriptions.forms import EndpointForm, RotateSecretForm, SendTestForm
from subscriptions.models import EventType
from subscriptions.retries import describe_schedule


@login_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    """Your endpoints; staff see everyone's, with an owner column and an owner filter."""
    endpoints = access.endpoints_for(request.user)
    owner_form = None
    if request.user.is_staff:
        owner_form = EndpointOwnerFilterForm(request.GET or None)
        endpoints = owner_form.filter(endpoints)
    endpoints = list(endpoints.prefetch_related("event_types").order_by("-created_at", "-id"))
    health = stats.endpoint_health(endpoints)
    rows = [(endpoint, health[endpoint.pk]) for endpoint in endpoints]
    return render(
        request,
        "subscriptions/endpoint_list.html",
        {
            "rows": rows,
            "owner_form": owner_form,
            "filtered": bool(owner_form and owner_form.is_bound),
            "query": request.GET.urlencode() if owner_form else "",
        },
    )


def endpoint_page_context(request: HttpRequest, endpoint, **extra) -> dict:
    """Everything the endpoint page shows; delivery_views.send_test re-renders it too."""
    test_form = SendTestForm()
    return {
        "endpoint": endpoint,
        "test_form": test_form,
        # For the send-test script, which fills the payload box with the chosen type's.
        "test_examples": {
            event_type.name: event_type.example if event_type.example is not None else {}
            for event_type in test_form.fields["event_type"].queryset
        },
        # The replaced secrets still signing, by expiry (the secrets are never shown).
        "previous_expiries": endpoint.previous_secret_expiries(),
        "recent": stats.recent_deliveries(endpoint),
        # Skipped while paused or disabled: the "Send the N events missed" offer.
        "missed": stats.missed_count(endpoint),
        "activity": activity.endpoint_activity(endpoint.pk),
        "retry_schedule": describe_schedule(endpoint.retry_schedule),
        **extra,
    }


@login_required
def endpoint_detail(request: HttpRequest, uid) -> HttpResponse:
    endpoint = access.get_endpoint_or_404(request.user, uid)
    return render(
        request, "subscriptions/endpoint_detail.html", endpoint_page_context(request, endpoint)
    )


@login_required
def endpoint_create(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.create_endpoint(
                request.user, form.endpoint_values(), actor=request.user, request=request
            )
        except ValidationError as error:  # over the quota
            form.add_error(None, error)
        else:
            messages.success(request, "Endpoint added. Copy its signing secret from this page.")
            return redirect(endpoint)
    return render(request, "subscriptions/endpoint_form.html", {"form": form, "endpoint": None})


@login_required
def endpoint_edit(request: HttpRequest, uid) -> HttpResponse:
    endpoint = access.get_endpoint_or_404(request.user, uid)
    # Checked against the owner's endpoints (staff editing alice's see alice's), not
    # the editor's; the form leaves this endpoint itself out.
    form = EndpointForm(request.POST or None, instance=endpoint, owner=endpoint.owner)
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
            request,
            "Endpoint paused. New events are kept for it, not sent, until you resume; "
            "then you can send them.",
        )
    else:
        messages.info(request, "This endpoint is already paused.")
    return redirect(endpoint)


@login_required
@require_POST
def endpoint_resume(request: HttpRequest, uid) -> HttpResponse:
    endpoint = access.get_endpoint_or_404(request.user, uid)
    if services.enable_endpoint(endpoint, actor=request.user, request=request):
        missed = stats.missed_count(endpoint)
        waiting = f" {missed} missed event{pluralize(missed)} can be sent below." if missed else ""
        messages.success(request, f"Endpoint enabled. New events are sent to it again.{waiting}")
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
    context = endpoint_page_context(request, endpoint, revealed_secret=secret)
    return render(request, "subscriptions/endpoint_detail.html", context)


@never_cache
@login_required
@require_POST
def headers_reveal(request: HttpRequest, uid) -> HttpResponse:
    """The custom headers with their secret values, in this response only, audited as
    secret_reveal is (subscriptions.headers.is_secret decides which values are masked)."""
    endpoint = access.get_endpoint_or_404(request.user, uid)
    headers = services.reveal_headers(endpoint, actor=request.user, request=request)
    context = endpoint_page_context(request, endpoint, revealed_headers=headers)
    return render(request, "subscriptions/endpoint_detail.html", context)


@never_cache
@login_required
def secret_rotate(request: HttpRequest, uid) -> HttpResponse:
    """GET: the confirmation page, asking when the current secret stops signing. POST:
    rotate, then show the new secret in this response only (never in a URL or a redirect),
    as secret_reveal does; `never_cache` keeps it out of the browser's cache. A refused
    rotation (too many old secrets still signing) shows the form again with the reason."""
    endpoint = access.get_endpoint_or_404(request.user, uid)
    form = RotateSecretForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            secret = services.rotate_secret(
                endpoint, actor=request.user, request=request, grace=form.grace()
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            until = timezone.localtime(endpoint.replaced_secret_expires_at)
            if until > timezone.now():
                old = f"The old one keeps signing until {until:%Y-%m-%d %H:%M %Z}."
            else:
                old = "The old one no longer signs."
            messages.success(request, f"New signing secret created. {old}")
            context = endpoint_page_context(request, endpoint, revealed_secret=secret, rotated=True)
            return render(request, "subscriptions/endpoint_detail.html", context)
    context = {
        "endpoint": endpoint,
        "form": form,
        "previous_expiries": endpoint.previous_secret_expiries(),
        "limit": settings.HOOKHUB_MAX_PREVIOUS_SECRETS,
    }
    return render(request, "subscriptions/secret_rotate_confirm.html", context)


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
