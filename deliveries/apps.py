from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "deliveries"
    verbose_name = "Deliveries"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate
        from django_q.signals import post_spawn

        from deliveries import checks, dispatcher, operational, retention  # noqa: F401
        from subscriptions import signals

        # Operational webhooks for endpoint state changes made in subscriptions.services.
        signals.endpoint_disabled.connect(operational.endpoint_disabled, dispatch_uid="op-off")
        signals.endpoint_enabled.connect(operational.endpoint_enabled, dispatch_uid="op-on")

        # The daily retention Schedule, created once by migrate (see deliveries/retention.py).
        post_migrate.connect(retention.ensure_schedule, sender=self)
        # Every django-q2 worker process runs a dispatcher, whatever command started it.
        post_spawn.connect(dispatcher.start_in_worker, dispatch_uid="hookhub-dispatcher")
