from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "deliveries"
    verbose_name = "Deliveries"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from deliveries import retention

        # The daily retention Schedule, created once by migrate (see deliveries/retention.py).
        post_migrate.connect(retention.ensure_schedule, sender=self)
