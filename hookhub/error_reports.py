"""Error pages and error mails must never show a signing secret or an API token."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter

# Values that are secrets whatever the variable is called: signing secrets, API tokens,
# Standard Webhooks signatures.
SECRET_VALUE = re.compile(r"whsec_|\bhh_[A-Za-z0-9_-]{8,}|\bv1,[A-Za-z0-9+/=]{20,}")


class SecretMaskingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter masks sensitive *settings* and request headers; this one also masks
    traceback variables whose name looks secret (`secret`, `key`, `token`, ...) or whose
    value contains a secret, without needing `@sensitive_variables` on every function."""

    def get_traceback_frame_variables(self, request, tb_frame):
        # Unlike Django's own masking, this applies under DEBUG too: a DEBUG page left on by
        # mistake should still not hand out a customer's secret.
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self.mask(name, value)) for name, value in variables]

    def mask(self, name: str, value):
        # Header dicts too: an endpoint's custom headers carry its receiver's credentials.
        if self.hidden_settings.search(name) or "header" in name.lower():
            return self.cleansed_substitute
        try:
            text = repr(value)
        except Exception:  # a broken __repr__ must not break the error page
            return value
        if SECRET_VALUE.search(text):
            return self.cleansed_substitute
        return value
