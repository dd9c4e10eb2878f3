"""Subscriber pages that act on deliveries: send a test, the delivery log, a delivery's
attempts, replay. Objects are looked up through `subscriptions.access` and
`deliveries.access`; every change goes through `deliveries.actions` (never the transport)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_POST

from dashboard.endpoint_views import endpoint_page_context
from deliveries import actions
from deliveries.access import deliveries_for, get_delivery_or_404
from deliveries.forms import DeliveryFilterForm
from deliveries.publishing import PublishError
from hookhub import throttling
from subscriptions import access
from subscriptions.forms import SendTestForm
from subscriptions.paging import keyset_page


@login_required
@require_POST
def send_test(request: HttpRequest, uid) -> HttpResponse:
    """The type's example, or the payload typed in once it passes the type's schema. A
    refused payload comes back as form errors on the endpoint page, the text kept; nothing
    is stored or sent then. Over HOOKHUB_THROTTLE_TEST_SEND (one counter with the API's test
    route) the page comes back as a 429 with Retry-After and says when to try again."""
    endpoint = access.get_endpoint_or_404(request.user, uid)
    form = SendTestForm(request.POST)
    wait = throttling.refusal(throttling.SendTestThrottle, request)
    if wait is not None:
        messages.error(
            request,
            f"Test not sent: too many test events in a short time. Try again in {wait} "
            f"second{pluralize(wait)}.",
        )
        context = endpoint_page_context(request, endpoint, test_form=form)
        response = render(request, "subscriptions/endpoint_detail.html", context, status=429)
        response["Retry-After"] = str(wait)
        return response
    if not form.is_valid() and "event_type" in form.errors:
        for error in form.errors["event_type"]:
            messages.error(request, f"Test not sent: {error}")
        return redirect(endpoint)
    if form.is_valid():
        event_type = form.cleaned_data["event_type"]
        try:
            delivery = actions.send_test(
                endpoint,
                event_type,
                actor=request.user,
                data=form.cleaned_data["payload"],
                request=request,
            )
        except PublishError as refused:
            form.add_error("payload", refused.message)
            for item in refused.errors:
                form.add_error("payload", f"{item.get('path') or 'data'}: {item['message']}")
        else:
            messages.success(request, f"Test {event_type.name} event sent.")
            return redirect(delivery)
    context = endpoint_page_context(request, endpoint, test_form=form)
    return render(request, "subscriptions/endpoint_detail.html", context, status=400)


@login_required
def delivery_log(request: HttpRequest, uid) -> HttpResponse:
    """One endpoint's deliveries, newest first, keyset-paginated (see `paging`)."""
    endpoint = access.get_endpoint_or_404(request.user, uid)
    form = DeliveryFilterForm(request.GET or None)
    deliveries = form.filter(deliveries_for(request.user).filter(endpoint=endpoint))
    page = keyset_page(deliveries, request)
    return render(
        request,
        "deliveries/delivery_log.html",
        {"endpoint": endpoint, "form": form, "page": page, "query": page.query},
    )


@login_required
def delivery_detail(request: HttpRequest, uid) -> HttpResponse:
    """A delivery and every attempt (newest first). While an attempt is in flight or due
    within HOOKHUB_PENDING_REFRESH the page reloads itself with a meta refresh (no
    JavaScript); during a longer back-off it says when the next try is instead."""
    delivery = get_delivery_or_404(request.user, uid)
    attempts = list(delivery.attempts.order_by("-number"))
    refresh = settings.HOOKHUB_PENDING_REFRESH
    return render(
        request,
        "deliveries/delivery_detail.html",
        {
            "delivery": delivery,
            "attempts": attempts,
            "waiting": delivery.attempt_expected_within(refresh),
            "refresh_seconds": refresh,
        },
    )


@login_required
@require_POST
def send_missed(request: HttpRequest, uid) -> HttpResponse:
    """Send the events the endpoint missed while paused or disabled (its skipped deliveries),
    each with its original webhook-id."""
    endpoint = access.get_endpoint_or_404(request.user, uid)
    try:
        sent = actions.send_missed(endpoint, actor=request.user, request=request)
    except actions.ReplayRefused as refused:
        messages.error(request, f"Not sent: {refused}")
    else:
        if sent:
            messages.success(
                request,
                f"Sending the {sent} missed event{pluralize(sent)}, oldest first, each with "
                "its original webhook-id.",
            )
        else:
            messages.info(request, "There are no missed events to send.")
    return redirect(endpoint)


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
