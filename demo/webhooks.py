"""The demo provider's event catalogue: how an API provider declares its webhooks.

Compare FastAPI:

    @app.webhooks.post("new-subscription")
    def new_subscription(body: Subscription): ...
"""

from rest_framework import serializers

from subscriptions.catalog import webhooks


@webhooks.post(
    "new-subscription",
    example={
        "username": "ada",
        "monthly_fee": 9.99,
        "start_date": "2026-11-28T10:00:00Z",
    },
)
class NewSubscription(serializers.Serializer):
    """A user subscribed to a plan.

    Sent once per new subscription, right after the first payment succeeds.
    """

    username = serializers.CharField()
    monthly_fee = serializers.FloatField()
    start_date = serializers.DateTimeField()


@webhooks.post(
    "subscription-cancelled",
    example={"username": "ada", "cancelled_at": "2026-12-01T08:30:00Z", "reason": "too-expensive"},
)
class SubscriptionCancelled(serializers.Serializer):
    """A user cancelled their subscription; it stays active until the period ends."""

    username = serializers.CharField()
    cancelled_at = serializers.DateTimeField()
    reason = serializers.CharField(required=False, allow_blank=True)


@webhooks.post(
    "invoice-paid",
    example={
        "invoice_id": "inv_1042",
        "username": "ada",
        "amount": 9.99,
        "currency": "EUR",
        "paid_at": "2026-11-28T10:00:05Z",
    },
)
class InvoicePaid(serializers.Serializer):
    """An invoice was paid in full."""

    invoice_id = serializers.CharField()
    username = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
    currency = serializers.CharField(min_length=3, max_length=3)
    paid_at = serializers.DateTimeField()
