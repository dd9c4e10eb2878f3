"""One model per endpoint (`Thing0` ... `Thing99`): saving one sends one webhook, to the one
endpoint subscribed to its topic. `Fan`: 100 webhooks, a save sends 100. No migrations:
`migrate --run-syncdb` creates the tables."""

from django.conf import settings
from django.db import models


class Fan(models.Model):
    note = models.TextField()

    def __str__(self) -> str:
        return f"Fan {self.pk}"


def _thing(i: int) -> type[models.Model]:
    return type(f"Thing{i}", (models.Model,), {"__module__": __name__, "note": models.TextField()})


THINGS = [_thing(i) for i in range(settings.PEER_ENDPOINTS)]
globals().update({model.__name__: model for model in THINGS})
