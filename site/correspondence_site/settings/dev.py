"""Local development and the demo: debug on, an insecure key only if none is given."""

from .base import *  # noqa: F401

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = SECRET_KEY or "insecure-development-key-never-use-in-production"

if not os.environ.get("EMAIL_BACKEND") and not os.environ.get("EMAIL_HOST"):
    # Without a configured mail server the demo keeps mails as files instead of failing.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(SITE_DIR / "sent_mail"))
