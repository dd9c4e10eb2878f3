"""Attempts stored before custom header values counted as secrets keep them in clear:
redact them now with today's rule (subscriptions.headers.redact, the engine's), so no
receiver credential stays in the attempt log. Batched by id; rows already redacted are
left untouched."""

from django.db import migrations

from subscriptions.headers import redact

BATCH = 1000


def redact_stored_headers(apps, schema_editor):
    Attempt = apps.get_model("deliveries", "Attempt")
    last = 0
    while True:
        batch = list(
            Attempt.objects.filter(id__gt=last)
            .order_by("id")
            .values_list("id", "request_headers", "delivery__endpoint__secret_header_names")[
                :BATCH
            ]
        )
        if not batch:
            return
        for pk, headers, marked in batch:
            cleaned = redact(headers or {}, marked or ())
            if cleaned != headers:
                Attempt.objects.filter(pk=pk).update(request_headers=cleaned)
        last = batch[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("deliveries", "0007_replay_job_progressed_at"),
        ("subscriptions", "0004_endpoint_secret_header_names"),
    ]

    operations = [migrations.RunPython(redact_stored_headers, migrations.RunPython.noop)]
