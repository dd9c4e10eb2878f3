from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The server-rendered pages, for subscribers and staff (healthchecks' `hc/front` beside
    `hc/api`): it imports `deliveries` and `subscriptions`, which never import it."""

    name = "dashboard"
    verbose_name = "Dashboard"
