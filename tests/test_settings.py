"""Settings come from the environment; production settings pass Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k9$Xv2!pQz7#LwR4tY8@bN1mC6&hJ3sD5fG0aE-uI_oP+zT=eW^rQ*yU%iO(xV)cB",
    "ALLOWED_HOSTS": "motcua.example.gov.vn",
    "DATABASE_URL": "postgres://onestop:secret@db.internal:5432/onestop",
    "ONESTOP_AUDIT_ANCHOR_FILE": "/var/log/onestop/audit-anchors.jsonl",
    "ONESTOP_PUBLIC_URL": "https://motcua.example.gov.vn",
}


def manage(*args, env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION_ENV and k != "SECURE_SSL_REDIRECT"
    }
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_its_public_address():
    """Links on slips and in e-mails need it (onestop.E002): every command that checks the
    system (check, migrate, run_worker) stops."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "ONESTOP_PUBLIC_URL"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "onestop.E002" in result.stderr and "ONESTOP_PUBLIC_URL" in result.stderr
    result = manage("check", env={**env, "ONESTOP_PUBLIC_URL": "motcua.example.gov.vn"})
    assert result.returncode != 0 and "onestop.E002" in result.stderr


def test_vietnam_defaults(settings):
    assert settings.TIME_ZONE == "Asia/Ho_Chi_Minh"
    assert settings.LANGUAGE_CODE == "vi"
    assert [code for code, _name in settings.LANGUAGES] == ["vi", "en"]


def test_database_url_selects_the_database():
    """The same settings module runs on PostgreSQL when DATABASE_URL says so."""
    env = {"DEBUG": "1", "DATABASE_URL": "postgres://u:p@db.internal:5432/onestop_x"}
    code = (
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['ENGINE'], d['NAME'], d['HOST'])"
    )
    result = manage("shell", "-v0", "-c", code, env=env)
    assert result.stdout.split() == ["django.db.backends.postgresql", "onestop_x", "db.internal"]


def test_check_deploy_warns_when_anchors_stay_in_the_database():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "ONESTOP_AUDIT_ANCHOR_FILE"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "onestop.W002" in result.stdout + result.stderr
