from __future__ import annotations

import re

import pytest

from app.core.settings import ConfigError, Settings, storage_directory


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///var/dpa.db"
    assert settings.tz == "Asia/Shanghai"
    assert settings.smtp is None
    assert settings.base_url == "http://127.0.0.1:8000"
    assert len(settings.secret_key) >= 32
    assert (settings.upload_max_file_bytes, settings.upload_max_request_bytes) == (20 * 1024 * 1024, 50 * 1024 * 1024)
    assert (settings.vendor_rate_limit.requests, settings.vendor_rate_limit.period_seconds) == (120, 60)


def test_reminder_policy_settings() -> None:
    settings = Settings.from_env({"REMINDER_DAYS_BEFORE": "7, 30,1", "REMINDER_ESCALATE_AFTER_DAYS": "10"})
    assert settings.reminder_days_before == (30, 7, 1)
    assert (settings.reminder_overdue_every, settings.reminder_escalate_after) == (3, 10)


def test_rate_limit_and_s3_storage() -> None:
    settings = Settings.from_env({"VENDOR_RATE_LIMIT": "5/second", "STORAGE_URL": "s3://evidence/dpa"})
    assert (settings.vendor_rate_limit.requests, settings.vendor_rate_limit.period_seconds) == (5, 1)
    assert settings.storage_url == "s3://evidence/dpa"


def test_plain_postgres_url_gets_the_async_driver() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgresql://u:p@db.internal:5432/dpa"})
    assert settings.database_url == "postgresql+asyncpg://u:p@db.internal:5432/dpa"


def test_smtp_urls() -> None:
    starttls = Settings.from_env({"SMTP_URL": "smtp://mailer:s%40cret@mail.example:587"}).smtp
    assert starttls is not None
    assert (starttls.host, starttls.port, starttls.implicit_tls) == ("mail.example", 587, False)
    assert (starttls.username, starttls.password) == ("mailer", "s@cret")
    implicit = Settings.from_env({"SMTP_URL": "smtps://mail.example"}).smtp
    assert implicit is not None and (implicit.port, implicit.implicit_tls) == (465, True)


def test_storage_directory() -> None:
    assert str(storage_directory("file:var/evidence")) == "var/evidence"
    assert str(storage_directory("file:///srv/evidence")) == "/srv/evidence"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://root@localhost/dpa", "DATABASE_URL: unsupported database"),
        ("DATABASE_URL", "not a url", "DATABASE_URL: not a database URL"),
        ("DATABASE_URL", "sqlite+aiosqlite://", "DATABASE_URL: SQLite needs a file path"),
        ("DATABASE_URL", "postgresql://localhost", "DATABASE_URL: PostgreSQL URL names no database"),
        ("STORAGE_URL", "ftp://files/evidence", "STORAGE_URL: must start with file:"),
        ("STORAGE_URL", "s3:///prefix", "STORAGE_URL: s3:// URL names no bucket"),
        ("UPLOAD_MAX_FILE_MB", "twenty", "UPLOAD_MAX_FILE_MB: must be a whole number"),
        ("UPLOAD_MAX_FILE_MB", "0", "UPLOAD_MAX_FILE_MB: must be from 1 to 1024"),
        ("UPLOAD_MAX_REQUEST_MB", "5", "UPLOAD_MAX_REQUEST_MB: must be at least UPLOAD_MAX_FILE_MB"),
        ("VENDOR_RATE_LIMIT", "lots", "VENDOR_RATE_LIMIT: must look like 120/minute"),
        ("VENDOR_RATE_LIMIT", "10/fortnight", "VENDOR_RATE_LIMIT: must look like 120/minute"),
        ("MAIL_FROM", "nobody", "MAIL_FROM: not an e-mail address"),
        ("MAIL_REPLY_TO", "nobody", "MAIL_REPLY_TO: not an e-mail address"),
        ("REMINDER_DAYS_BEFORE", "30,x", "REMINDER_DAYS_BEFORE: must be a whole number"),
        ("REMINDER_OVERDUE_EVERY_DAYS", "0", "REMINDER_OVERDUE_EVERY_DAYS: must be a whole number from 1"),
        ("REMINDER_ESCALATE_AFTER_DAYS", "-7", "REMINDER_ESCALATE_AFTER_DAYS: must be a whole number"),
        ("WORKER_INTERVAL_SECONDS", "soon", "WORKER_INTERVAL_SECONDS: must be a whole number"),
        ("SMTP_URL", "http://mail.example", "SMTP_URL: must start with smtp://"),
        ("SMTP_URL", "smtp://mail.example:99999", "SMTP_URL: the port"),
        ("SMTP_URL", "smtp://", "SMTP_URL: names no host"),
        ("SECRET_KEY", "short", "SECRET_KEY: must be at least 32 characters"),
        ("BASE_URL", "dpa.example.com", "BASE_URL: must be an http:// or https:// URL"),
        ("TZ", "Mars/Olympus_Mons", "TZ: unknown time zone"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: must be one of"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.5,proxy.local", "FORWARDED_ALLOW_IPS: 'proxy.local' is not an IP"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value).startswith(message)


def test_posix_tz_prefix_is_accepted() -> None:
    assert Settings.from_env({"TZ": ":Europe/Berlin"}).tz == "Europe/Berlin"


def test_no_proxy_is_trusted_unless_named() -> None:
    assert Settings.from_env({}).trusted_proxies == ()
    named = Settings.from_env({"FORWARDED_ALLOW_IPS": " 10.0.0.5 , 10.1.0.0/16 "})
    assert named.trusted_proxies == ("10.0.0.5/32", "10.1.0.0/16")


def test_redis_is_optional_and_checked() -> None:
    assert Settings.from_env({}).redis_url is None
    shared = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:6379/2", "REDIS_PREFIX": "acme:"})
    assert (shared.redis_url, shared.redis_prefix) == ("redis://127.0.0.1:6379/2", "acme:")
    assert "6379" not in repr(shared)  # a URL may carry a password
    for name, value in (("REDIS_URL", "http://cache"), ("REDIS_URL", "redis://h:port/0"), ("REDIS_PREFIX", "a b")):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})


SSO = {"OIDC_ISSUER": "https://sso.example.com", "OIDC_CLIENT_ID": "dpa", "OIDC_CLIENT_SECRET": "s3cret"}


def test_single_sign_on_is_off_unless_configured_and_on_with_all_three() -> None:
    assert Settings.from_env({}).oidc is None
    oidc = Settings.from_env(SSO).oidc
    assert oidc is not None
    assert (oidc.issuer, oidc.client_id, oidc.role_claim, oidc.scopes) == (
        "https://sso.example.com",
        "dpa",
        "dpa_role",
        "openid email profile",
    )
    assert "s3cret" not in repr(oidc)
    custom = Settings.from_env({**SSO, "OIDC_ROLE_CLAIM": "https://dpa.example/role", "OIDC_SCOPES": "openid  email"})
    assert custom.oidc is not None
    assert (custom.oidc.role_claim, custom.oidc.scopes) == ("https://dpa.example/role", "openid email")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"OIDC_ISSUER": "https://sso.example.com"}, "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET: single sign-on needs"),
        ({"OIDC_ISSUER": "https://sso.example.com", "OIDC_CLIENT_ID": "dpa"}, "OIDC_CLIENT_SECRET: single sign-on"),
        ({"OIDC_CLIENT_SECRET": "x"}, "OIDC_ISSUER, OIDC_CLIENT_ID: single sign-on needs"),
        ({**SSO, "OIDC_ISSUER": "http://sso.example.com"}, "OIDC_ISSUER: must be the provider's https://"),
        ({**SSO, "OIDC_ISSUER": "sso.example.com"}, "OIDC_ISSUER: must be"),
        ({**SSO, "OIDC_SCOPES": "email profile"}, "OIDC_SCOPES: space-separated scopes including openid"),
        ({**SSO, "OIDC_ROLE_CLAIM": "角色"}, "OIDC_ROLE_CLAIM: a claim name"),
    ],
)
def test_single_sign_on_settings_say_what_is_missing_or_wrong(given: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings.from_env(given)


def test_single_sign_on_over_http_only_on_loopback() -> None:
    oidc = Settings.from_env({**SSO, "OIDC_ISSUER": "http://127.0.0.1:9400"}).oidc
    assert oidc is not None and oidc.issuer == "http://127.0.0.1:9400"
