"""Who may see and change which subscription objects. Views and API both go through here."""

from __future__ import annotations

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
    except (Endpoint.DoesNotExist, ValueError, TypeError):
        raise Http404("No such endpoint.") from None
