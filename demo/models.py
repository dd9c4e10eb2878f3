from __future__ import annotations

from django.db import models


class InboxRequest(models.Model):
    """One request received by the demo's built-in inbox, so `make run` needs no outside
    receiver. Demo only: a real provider removes the `demo` app."""

    inbox = models.SlugField(max_length=60)
    received_at = models.DateTimeField(auto_now_add=True)
    method = models.CharField(max_length=10)
    url = models.CharField(max_length=2000)
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    # Whether the webhook-signature matched a secret of an endpoint with this URL; None
    # when no endpoint points here (e.g. a request sent by hand).
    signature_valid = models.BooleanField(null=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The inbox page: one inbox, newest first; also the pruning query.
            models.Index(fields=["inbox", "-id"], name="inbox_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.url} at {self.received_at:%H:%M:%S}"
