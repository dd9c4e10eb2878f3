"""Custom header values are secrets: encrypted at rest, and owners may mark more of them.

`Endpoint.headers` ({name: value} JSON in clear) becomes `headers_encrypted`: the same JSON
encrypted like the signing secret (subscriptions.secrets, Fernet under
HOOKHUB_ENCRYPTION_KEYS), "" for none; the model reads and sets it through its `headers`
property. `secret_header_names` lists the names the owner marked secret besides the
credential-like ones (subscriptions.headers.is_secret).

Forwards, every row's headers are encrypted under the current key; backwards, decrypted
back into the JSON column (so the encryption key must still be configured).
"""

from __future__ import annotations

import json

from django.db import migrations, models

import subscriptions.headers
from subscriptions import secrets


def encrypt_headers(apps, schema_editor) -> None:
    Endpoint = apps.get_model("subscriptions", "Endpoint")
    rows = Endpoint.objects.exclude(headers={}).values_list("pk", "headers")
    for pk, headers in rows.iterator():
        if headers:
            token = secrets.encrypt(json.dumps(headers))
            Endpoint.objects.filter(pk=pk).update(headers_encrypted=token)


def decrypt_headers(apps, schema_editor) -> None:
    Endpoint = apps.get_model("subscriptions", "Endpoint")
    rows = Endpoint.objects.exclude(headers_encrypted="").values_list("pk", "headers_encrypted")
    for pk, token in rows.iterator():
        headers = json.loads(secrets.decrypt(token))
        Endpoint.objects.filter(pk=pk).update(headers=headers)


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0003_endpoint_previous_secrets"),
    ]

    operations = [
        migrations.AddField(
            model_name="endpoint",
            name="secret_header_names",
            field=models.JSONField(
                blank=True,
                default=list,
                validators=[subscriptions.headers.validate_secret_names],
            ),
        ),
        migrations.AddField(
            model_name="endpoint",
            name="headers_encrypted",
            field=models.TextField(blank=True, default="", editable=False),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_headers, decrypt_headers),
        migrations.RemoveField(model_name="endpoint", name="headers"),
    ]
