"""Settings for the test suite."""

import tempfile

from .base import *  # noqa: F401

DEBUG = False
SECRET_KEY = "test-secret-key-for-the-suite-only-0123456789"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = tempfile.mkdtemp(prefix="correspondence-test-media-")
STORAGES["letters"]["OPTIONS"]["location"] = tempfile.mkdtemp(prefix="correspondence-test-letters-")
STORAGES["archive"]["OPTIONS"]["location"] = tempfile.mkdtemp(prefix="correspondence-test-archive-")
STORAGES["print"]["OPTIONS"]["location"] = tempfile.mkdtemp(prefix="correspondence-test-print-")

# PostgreSQL for the tests that need real concurrency (reference numbers under load). `make
# test` makes sure a server answers (scripts/ensure-postgres.sh) and passes its URL here;
# only tests that ask for the "postgres" database touch it.
DATABASES["postgres"] = dj_database_url.parse(
    os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
# Tables straight from the models: third-party data migrations write to the default alias
# whatever database they migrate. The real migrations run on PostgreSQL in
# test_migrations_and_settings.py, in a subprocess of their own.
DATABASES["postgres"]["TEST"] = {"NAME": os.environ.get("TEST_POSTGRES_DB", "test_wagtail_correspondence"),
                                 "MIGRATE": False}
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
WAGTAILADMIN_BASE_URL = "http://testserver"
ALLOWED_HOSTS = ["*"]

# The login rate limit (django-axes) refuses to check a password without the request it
# came with (authenticate() and client.login() in tests have none), so it is off here; its
# own tests (tests/test_hardening_login.py) turn it on, with the limits base.py sets.
AXES_ENABLED = False
