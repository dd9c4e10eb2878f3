from __future__ import annotations

from django.db import models


class DemoEndpoint(models.Model):
    """An endpoint `load_demo` made, under a name of its own: running it again finds its
    rows by this, never by URL, whatever endpoints the user added at the same URL (the
    inbox page invites them to). Deleting the endpoint deletes this row too, and the next
    `load_demo` makes a new one."""

    name = models.SlugField(max_length=60, unique=True)
    endpoint = models.OneToOneField(
        "subscriptions.Endpoint", on_delete=models.CASCADE, related_name="demo_role"
    )

    def __str__(self) -> str:
        return self.name


class InboxRequest(models.Model):
    """One request received by the demo's built-in inbox, so `make run` needs no outside
    receiver. Demo only: a real provider removes the `demo` app."""

    # The owner's user id (demo.inbox.inbox_key); not a foreign key, because the receiver
    # stores whatever is posted to any key: one sent by hand to a mistyped key, or to an
    # inbox named after a username before 0002, shows up for staff only.
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
