from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        from subscriptions import catalog, checks, login_security  # noqa: F401 (registers)

        # Load every installed app's `webhooks.py`, as the admin does with `admin.py`.
        catalog.autodiscover()
        post_migrate.connect(catalog.sync_after_migrate, sender=self)
