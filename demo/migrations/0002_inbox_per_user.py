"""Inboxes are keyed by user id, no longer by a slug of the username (which let "Alice"
read alice's inbox); and load_demo records the endpoint it made.

Stored requests are re-keyed: a slug that exactly one user's username slugifies to becomes
that user's id. A slug two users share is left as it is: nobody can tell whose those rows
were, so only staff see them.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import migrations, models
from django.utils.text import slugify


def rekey_by_user_id(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    InboxRequest = apps.get_model("demo", "InboxRequest")
    slugs = set(InboxRequest.objects.values_list("inbox", flat=True).distinct())
    if not slugs:
        return
    # Historical models lack USERNAME_FIELD; the current model only names the field.
    username_field = get_user_model().USERNAME_FIELD
    users_by_slug = {}
    for pk, username in User.objects.values_list("pk", username_field):
        # The old view's own rule for a user's inbox name.
        users_by_slug.setdefault(slugify(username) or "inbox", []).append(pk)
    # Row ids first, updates after: an old slug may look like another user's new key.
    moves = []
    for slug in slugs:
        owners = users_by_slug.get(slug, [])
        if len(owners) == 1:
            ids = list(InboxRequest.objects.filter(inbox=slug).values_list("id", flat=True))
            moves.append((str(owners[0]), ids))
    for key, ids in moves:
        InboxRequest.objects.filter(id__in=ids).update(inbox=key)


class Migration(migrations.Migration):
    dependencies = [
        ("demo", "0001_initial"),
        ("subscriptions", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DemoEndpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.SlugField(max_length=60, unique=True)),
                (
                    "endpoint",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="demo_role",
                        to="subscriptions.endpoint",
                    ),
                ),
            ],
        ),
        migrations.RunPython(rekey_by_user_id, migrations.RunPython.noop),
    ]
