"""factory_boy factories shared by every test module."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from deliveries.models import Attempt, Delivery, Event
from subscriptions.models import Endpoint, EventType


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


class EventTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EventType
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"thing-happened-{n}")
    description = "Something happened."
    schema = factory.LazyFunction(
        lambda: {
            "type": "object",
            "properties": {"id": {"type": "integer"}},
            "required": ["id"],
        }
    )
    example = factory.LazyFunction(lambda: {"id": 1})
    source = EventType.Source.ADMIN


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Endpoint
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    url = factory.Sequence(lambda n: f"https://hooks{n}.example.com/receive")
    description = "Test endpoint"

    @factory.post_generation
    def event_types(self, create, extracted, **kwargs):
        if create and extracted:
            self.event_types.set(extracted)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    event_type = factory.SubFactory(EventTypeFactory)
    payload = factory.LazyFunction(lambda: {"id": 1})


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    event = factory.SubFactory(EventFactory)
    endpoint = factory.SubFactory(EndpointFactory)


class AttemptFactory(factory.django.DjangoModelFactory):
    """A recorded try; pass `started_at` and `response_status` (None for no answer)."""

    class Meta:
        model = Attempt

    delivery = factory.SubFactory(DeliveryFactory)
    number = 1
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.SelfAttribute("started_at")
    duration_ms = 1
    request_url = factory.SelfAttribute("delivery.endpoint.url")
    request_body = "{}"
    response_status = 200


def subscribed(owner, receiver, path="/hook", **kwargs):
    """An endpoint of `owner` on the test receiver, subscribed to every event type."""
    return EndpointFactory(owner=owner, url=receiver.url(path), all_event_types=True, **kwargs)
