"""Production: refuses to start without a real secret key and with debug on.

Served over HTTPS only, usually behind a TLS-terminating proxy. Every environment variable
read here and in base.py is described in docs/deployment.md; `manage.py check --deploy`
with these settings reports nothing (tests/test_hardening_deploy.py).
"""

from .base import *  # noqa: F401

_PLACEHOLDER_KEYS = {"", "changeme", "change-me", "secret", "insecure-development-key-never-use-in-production"}
if SECRET_KEY in _PLACEHOLDER_KEYS or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 32 characters in production "
        "(for example: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")

# Earlier keys, still accepted for signatures (sessions, portal links) while a new SECRET_KEY
# takes over: portal links already emailed keep working until they expire.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

# Behind a TLS-terminating proxy Django sees plain HTTP; the proxy says what the client used
# in this header, which it must overwrite on every request (never pass on the client's).
# Empty when Django faces the clients itself.
_proxy_ssl_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto").strip()
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
# Plain HTTP is answered with a redirect to HTTPS. Turn off only where the proxy already
# redirects and Django's own health checks come in over HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = env_list("SECURE_REDIRECT_EXEMPT")
# Browsers remember to use HTTPS only (one year by default). Subdomains included unless
# another service of the domain still needs plain HTTP.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

SECURE_CONTENT_TYPE_NOSNIFF = True
# No page of the site may be framed by another; the few that the admin shows in its own frames
# (Wagtail's preview, a letter's PDF) say SAMEORIGIN themselves.
X_FRAME_OPTIONS = "DENY"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}

# The schema describes this API only: the site's other DRF views (Wagtail's admin API) are not
# part of it, and cannot be documented without a request (drf-spectacular warns about them in
# `check --deploy`).
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS,
                        "PREPROCESSING_HOOKS": ["wagtail_correspondence.api.views.correspondence_endpoints_only"]}

SILENCED_SYSTEM_CHECKS = [
    # "SECURE_HSTS_PRELOAD is not True". Asking browsers to preload HSTS is a decision for the
    # owner of the whole domain (it binds every subdomain for months and needs a submission to
    # the preload list); SECURE_HSTS_PRELOAD=true turns it on.
    "security.W021",
]
