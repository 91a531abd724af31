"""The production settings: `manage.py check --deploy` reports nothing with the documented
environment; HTTPS is enforced as configured (redirect, HSTS, secure cookies, no framing);
the limits come from the environment; and every environment variable the settings read is
described in docs/deployment.md."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "site" / "correspondence_site" / "settings"
MANAGE = [sys.executable, str(ROOT / "site" / "manage.py")]


@pytest.fixture
def production_env(tmp_path):
    """The environment docs/deployment.md asks for, and nothing inherited that could change
    the outcome."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "SECURE_", "SESSION_", "CSRF_", "AXES_", "API_THROTTLE_"))
           and not key.startswith("CORRESPONDENCE_AUDIT_")
           and key not in ("DEBUG", "SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "TRUSTED_PROXY_COUNT",
                           "CORRESPONDENCE_ENCRYPTION_KEYS")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.production",
        "PYTHONPATH": f"{ROOT / 'site'}{os.pathsep}{ROOT}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CORRESPONDENCE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "CORRESPONDENCE_AUDIT_KEYS": secrets.token_urlsafe(32),
        "CORRESPONDENCE_AUDIT_CHECKPOINT_BUCKET": "audit-checkpoints",
        "ALLOWED_HOSTS": "letters.example.org,testserver",
        "CSRF_TRUSTED_ORIGINS": "https://letters.example.org",
        "WAGTAILADMIN_BASE_URL": "https://letters.example.org",
        "CORRESPONDENCE_PUBLIC_URL": "https://letters.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "PRIVATE_STORAGE_ROOT": str(tmp_path / "private"),
    })
    return env


def run(args, env):
    return subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT, timeout=300)


def check_deploy(env):
    return run(MANAGE + ["check", "--deploy", "--fail-level", "WARNING"], env)


def test_check_deploy_is_clean(production_env):
    result = check_deploy(production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("variable, value, warning", [
    ("SECURE_SSL_REDIRECT", "false", "security.W008"),
    ("SECURE_HSTS_SECONDS", "0", "security.W004"),
    ("SESSION_COOKIE_SECURE", "false", "security.W012"),
    ("CORRESPONDENCE_PUBLIC_URL", "", "wagtail_correspondence.W033"),
])
def test_check_deploy_sees_a_weakened_setting(production_env, variable, value, warning):
    """Control: the clean result above is the check finding nothing, not the check not running."""
    result = check_deploy({**production_env, variable: value})
    assert result.returncode != 0 and warning in result.stdout + result.stderr


REQUESTS = """
import json, django
django.setup()
from django.test import Client
client = Client()
plain = client.get("/api/correspondence/v1/me/")
secure = client.get("/api/correspondence/v1/me/", headers={"X-Forwarded-Proto": "https"})
print(json.dumps({"plain": [plain.status_code, plain.get("Location", "")],
                  "secure": [secure.status_code, secure.get("Strict-Transport-Security", ""),
                             secure.get("X-Frame-Options", ""), secure.get("X-Content-Type-Options", "")]}))
"""


def test_https_is_enforced_behind_the_proxy(production_env):
    result = run([sys.executable, "-c", REQUESTS], production_env)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["plain"] == [301, "https://testserver/api/correspondence/v1/me/"]
    # Over HTTPS: the API's own answer (no token: 401), with the security headers.
    assert answers["secure"] == [401, "max-age=31536000; includeSubDomains", "DENY", "nosniff"]
    # Without a proxy that says so, a request is plain HTTP whatever header the client sends.
    result = run([sys.executable, "-c", REQUESTS], {**production_env, "SECURE_PROXY_SSL_HEADER": ""})
    assert json.loads(result.stdout.strip().splitlines()[-1])["secure"][0] == 301


SHOW = ("import django; django.setup(); from django.conf import settings as s; "
        "from rest_framework.throttling import SimpleRateThrottle as t; "
        "print(s.AXES_ENABLED, s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), t.THROTTLE_RATES['user'], "
        "t.THROTTLE_RATES['anon'], s.TRUSTED_PROXY_COUNT, s.REST_FRAMEWORK['NUM_PROXIES'], "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.X_FRAME_OPTIONS, s.SECRET_KEY_FALLBACKS)")


def test_the_limits_come_from_the_environment(production_env):
    result = run([sys.executable, "-c", SHOW], production_env)
    assert result.stdout.split() == ["True", "5", "900", "1200/minute", "120/minute", "0", "0", "True", "True", "DENY", "[]"]
    result = run([sys.executable, "-c", SHOW], {
        **production_env, "AXES_FAILURE_LIMIT": "3", "AXES_COOLOFF_MINUTES": "60", "API_THROTTLE_USER": "100/hour",
        "API_THROTTLE_ANON": "10/minute", "TRUSTED_PROXY_COUNT": "2", "SECRET_KEY_FALLBACKS": "old-key"})
    assert result.stdout.split() == ["True", "3", "3600", "100/hour", "10/minute", "2", "2", "True", "True", "DENY",
                                     "['old-key']"], result.stderr
    result = run([sys.executable, "-c", SHOW], {**production_env, "AXES_FAILURE_LIMIT": "five"})
    assert "AXES_FAILURE_LIMIT must be a whole number" in result.stderr


def variables_read_by_the_settings():
    pattern = re.compile(r"""(?:os\.environ\.get|os\.environ\[|env_bool|env_list|env_int)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")
    names = set()
    for module in ("base.py", "production.py"):
        names |= set(pattern.findall((SETTINGS / module).read_text()))
    # Read by libraries on the settings' behalf.
    return names | {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}


def test_every_environment_variable_is_documented():
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs" / "deployment.md").read_text()))
    variables = variables_read_by_the_settings()
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "SECURE_HSTS_SECONDS", "AXES_FAILURE_LIMIT", "API_THROTTLE_USER",
            "REDIS_URL"} <= variables  # the search finds what it should
    assert variables - documented == set()
