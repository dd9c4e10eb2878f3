"""Who may see which deliveries. Views and API both go through here (endpoints' own rules
are subscriptions.access)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404

from deliveries.models import Delivery, ReplayJob
from subscriptions.models import Endpoint


def deliveries_for(user):
    """The deliveries `user` may see: those to their own endpoints; staff see all."""
    if not user.is_authenticated:
        return Delivery.objects.none()
    queryset = Delivery.objects.select_related("event__event_type", "endpoint__owner")
    if user.is_staff:
        return queryset
    # The user's endpoint ids as constants, not a join on owner: PostgreSQL then plans the
    # newest-first page from real per-endpoint row estimates (docs/benchmarks.md, "lists").
    endpoint_ids = list(Endpoint.objects.filter(owner=user).values_list("id", flat=True))
    return queryset.filter(endpoint_id__in=endpoint_ids)


def get_delivery_or_404(user, uid):
    """The delivery with public id `uid` if `user` may see it; 404 otherwise."""
    try:
        return deliveries_for(user).get(uid=uid)
    except (Delivery.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such delivery.") from None


def replay_jobs_for(user):
    """The bulk replays `user` may watch: those they started; staff see all."""
    if not user.is_authenticated:
        return ReplayJob.objects.none()
    queryset = ReplayJob.objects.select_related("created_by")
    if user.is_staff:
        return queryset
    return queryset.filter(created_by=user)


def get_replay_job_or_404(user, uid) -> ReplayJob:
    """The replay job with public id `uid` if `user` may watch it; 404 otherwise."""
    try:
        return replay_jobs_for(user).get(uid=uid)
    except (ReplayJob.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such replay.") from None
