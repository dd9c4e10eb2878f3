from django.apps import AppConfig


class PeerAppConfig(AppConfig):
    name = "bench.peer_project.peerapp"
    label = "peerapp"
    default_auto_field = "django.db.models.BigAutoField"
