from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions

from hookhub import throttling
from subscriptions.models import ApiToken


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer hh_...` against the hashed ApiToken rows."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) == 0 or parts[0].lower() != self.keyword.lower():
            return None
        # Failed attempts are limited per address here: DRF throttles only after this.
        throttling.refuse_if_too_many_bad_tokens(request)
        if len(parts) != 2:
            throttling.record_bad_token(request)
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=ApiToken.hash_key(parts[1]))
            .first()
        )
        if token is None or not token.user.is_active:
            throttling.record_bad_token(request)
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        # One write per minute at most: last_used_at is for humans, not for accounting.
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword
