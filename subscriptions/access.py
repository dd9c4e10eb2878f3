"""Who may see and change which subscription objects. Views and API both go through here."""

from __future__ import annotations

from functools import wraps

from django.apps import apps
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from subscriptions.models import Endpoint


def endpoints_for(user):
    """The endpoints `user` may see: their own; staff see everyone's."""
    if not user.is_authenticated:
        return Endpoint.objects.none()
    queryset = Endpoint.objects.select_related("owner")
    if user.is_staff:
        return queryset
    return queryset.filter(owner=user)


def get_endpoint_or_404(user, uid) -> Endpoint:
    """The endpoint with public id `uid` if `user` may see it; 404 otherwise, so outsiders
    cannot even learn that it exists."""
    try:
        return endpoints_for(user).get(uid=uid)
    except (Endpoint.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such endpoint.") from None


def deliveries_for(user):
    """The deliveries `user` may see: those to their own endpoints; staff see all.

    The model is looked up by name because `subscriptions` never imports `deliveries`."""
    delivery_model = apps.get_model("deliveries", "Delivery")
    if not user.is_authenticated:
        return delivery_model.objects.none()
    queryset = delivery_model.objects.select_related("event__event_type", "endpoint__owner")
    if user.is_staff:
        return queryset
    # The user's endpoint ids as constants, not a join on owner: PostgreSQL then plans the
    # newest-first page as a range scan of (endpoint, -id) with real per-endpoint row
    # estimates. With the join it guessed ~1,800 rows for an endpoint holding 250,000 and
    # sorted them all (1.3 s for the first API page at 1M attempts; see docs/benchmarks.md).
    endpoint_ids = list(Endpoint.objects.filter(owner=user).values_list("id", flat=True))
    return queryset.filter(endpoint_id__in=endpoint_ids)


def get_delivery_or_404(user, uid):
    """The delivery with public id `uid` if `user` may see it; 404 otherwise."""
    delivery_model = apps.get_model("deliveries", "Delivery")
    try:
        return deliveries_for(user).get(uid=uid)
    except (delivery_model.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such delivery.") from None


def staff_required(view):
    """Admin review pages: anonymous users go to the login page, signed-in non-staff get 403
    (they are who they say they are, they just may not look)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Staff only.")
        return view(request, *args, **kwargs)

    return wrapper
