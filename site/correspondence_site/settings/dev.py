"""Local development and the demo: debug on, an insecure key only if none is given."""

from .base import *  # noqa: F401

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = SECRET_KEY or "insecure-development-key-never-use-in-production"

if not os.environ.get("EMAIL_BACKEND") and not os.environ.get("EMAIL_HOST"):
    # Without a configured mail server the demo keeps mails as files instead of failing.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(SITE_DIR / "sent_mail"))

# The demo's organisation seal (README, "Sealed PDFs"): a throwaway certificate that
# correspondence_demo makes here; once it exists, the demo's letters are sealed with it,
# unless a seal of your own is configured (CORRESPONDENCE_SEAL_PKCS12).
DEMO_SEAL_DIR = os.path.join(PRIVATE_STORAGE_ROOT, "demo-seal")
if not WAGTAIL_CORRESPONDENCE.get("PDF_SEAL"):
    from correspondence_demo import seal as demo_seal

    WAGTAIL_CORRESPONDENCE["PDF_SEAL"] = demo_seal.settings_for(DEMO_SEAL_DIR)
