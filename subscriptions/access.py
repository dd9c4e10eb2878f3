"""Who may see and change which subscription objects. Views and API both go through here."""

from __future__ import annotations

from functools import wraps

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
