import pytest
from django.core.exceptions import ImproperlyConfigured

from hookhub.env import database_config, env_bool, parse_cidrs, parse_schedule


def test_sqlite_url_gets_wal_and_immediate_transactions():
    config = database_config("sqlite:////tmp/hookhub-test.sqlite3", conn_max_age=60)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_postgres_url_keeps_persistent_connections():
    config = database_config("postgres://postgres@127.0.0.1:5432/hookhub", conn_max_age=60)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "hookhub"
    assert config["CONN_MAX_AGE"] == 60
    assert config["CONN_HEALTH_CHECKS"] is True


def test_postgres_prepares_only_hookhubs_server_bound_statements_unless_turned_off():
    url = "postgres://postgres@127.0.0.1:5432/hookhub"
    assert database_config(url, conn_max_age=60)["OPTIONS"]["prepare_threshold"] == 1
    off = database_config(url, conn_max_age=60, prepared_statements=False)
    assert off["OPTIONS"]["prepare_threshold"] is None  # psycopg then never prepares


@pytest.mark.parametrize("url", ["nonsense", "mysterydb://host/db", ""])
def test_bad_database_url_is_a_clear_improperly_configured(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_config(url, conn_max_age=0)


def test_bad_boolean_is_refused(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env_bool("DEBUG")


def test_cidrs_are_validated_and_normalised():
    assert parse_cidrs("X", ["127.0.0.1/8", "::1"]) == ["127.0.0.0/8", "::1/128"]
    with pytest.raises(ImproperlyConfigured, match="not a network"):
        parse_cidrs("X", ["localhost"])


def test_retry_schedule_parses_seconds_and_refuses_garbage():
    assert parse_schedule("S", ["0", "5", "300"]) == [0.0, 5.0, 300.0]
    with pytest.raises(ImproperlyConfigured, match="comma-separated seconds"):
        parse_schedule("S", ["0", "soon"])
    with pytest.raises(ImproperlyConfigured):
        parse_schedule("S", ["-1"])


def test_settings_module_refuses_to_start_without_secret_key_when_not_debug():
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "hookhub.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_django_q_never_reruns_failed_tasks_forever():
    from django.conf import settings

    assert settings.Q_CLUSTER["max_attempts"] == 1
    assert settings.Q_CLUSTER["retry"] > settings.Q_CLUSTER["timeout"]
