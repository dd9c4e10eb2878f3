"""Subscriber pages that act on deliveries: send a test, the delivery log, a delivery's
attempts, replay. Objects are looked up through `subscriptions.access` and
`deliveries.access`; every change goes through `deliveries.actions` (never the transport)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from deliveries import actions
from deliveries.access import deliveries_for, get_delivery_or_404
from deliveries.forms import DeliveryFilterForm
from subscriptions import access
from subscriptions.forms import SendTestForm
from subscriptions.paging import keyset_page


@login_required
@require_POST
def send_test(request: HttpRequest, uid) -> HttpResponse:
    endpoint = access.get_endpoint_or_404(request.user, uid)
    form = SendTestForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("event_type", []):
            messages.error(request, f"Test not sent: {error}")
        return redirect(endpoint)
    delivery = actions.send_test(
        endpoint, form.cleaned_data["event_type"], actor=request.user, request=request
    )
    messages.success(request, f"Test {form.cleaned_data['event_type'].name} event sent.")
    return redirect(delivery)


@login_required
def delivery_log(request: HttpRequest, uid) -> HttpResponse:
    """One endpoint's deliveries, newest first, keyset-paginated (see `paging`)."""
    endpoint = access.get_endpoint_or_404(request.user, uid)
    form = DeliveryFilterForm(request.GET or None)
    deliveries = deliveries_for(request.user).filter(endpoint=endpoint)
    if form.is_bound and form.is_valid():
        deliveries = form.apply(deliveries)
    elif form.is_bound:
        deliveries = deliveries.none()
    page = keyset_page(deliveries, request)
    return render(
        request,
        "deliveries/delivery_log.html",
        {"endpoint": endpoint, "form": form, "page": page, "query": page.query},
    )


@login_required
def delivery_detail(request: HttpRequest, uid) -> HttpResponse:
    """A delivery and every attempt (newest first). While it waits for the worker the page
    reloads itself with a meta refresh (no JavaScript)."""
    delivery = get_delivery_or_404(request.user, uid)
    attempts = list(delivery.attempts.order_by("-number"))
    return render(
        request,
        "deliveries/delivery_detail.html",
        {
            "delivery": delivery,
            "attempts": attempts,
            "waiting": not delivery.is_finished,
            "refresh_seconds": settings.HOOKHUB_PENDING_REFRESH,
        },
    )


@login_required
@require_POST
def delivery_replay(request: HttpRequest, uid) -> HttpResponse:
    delivery = get_delivery_or_404(request.user, uid)
    try:
        actions.replay(delivery, actor=request.user, request=request)
    except actions.ReplayRefused as refused:
        messages.error(request, f"Not replayed: {refused}")
    else:
        messages.success(request, "Replay sent. The new attempt uses the same webhook-id.")
    return redirect(delivery)
