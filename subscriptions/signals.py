"""Endpoint state changes other apps react to, sent by subscriptions.services inside the
change's transaction (so a reaction that writes, e.g. an operational webhook published by
deliveries.operational, commits or rolls back with it). `subscriptions` may not import
`deliveries`; deliveries connects its receivers in DeliveriesConfig.ready."""

from django.dispatch import Signal

# endpoint, reason, at
endpoint_disabled = Signal()
# endpoint, previous_state, actor
endpoint_enabled = Signal()
