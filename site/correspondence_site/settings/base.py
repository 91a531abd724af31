"""Settings shared by every environment of the reference site.

Everything that differs between machines comes from the environment, so the same
code runs on a laptop, in CI and in production.
"""

import os
import zoneinfo
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

PROJECT_DIR = Path(__file__).resolve().parent.parent
SITE_DIR = PROJECT_DIR.parent
BASE_DIR = SITE_DIR.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "wagtail_correspondence",
    # The demo (users, content, register entries): `manage.py correspondence_demo`.
    "correspondence_demo",
    # The site itself: its landing page at / and the name of its home in the page tree.
    "correspondence_site",
    "wagtail_modeladmin",
    # Translated content: fragments, layouts and letter templates in each content language.
    "wagtail_localize",
    "wagtail_localize.locales",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.table_block",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "reversion",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    # Installed, not routed (urls.py): wagtail-modeladmin's list filters are Django admin's.
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Admin forms with JSON nested past the limit: a 400 naming the field, before any view.
    "wagtail_correspondence.middleware.BoundedJSONFormMiddleware",
    # Portal links in letters generated in a request lead back to its host and port when no
    # public address is configured (WAGTAIL_CORRESPONDENCE["PORTAL"]["BASE_URL"]).
    "wagtail_correspondence.middleware.RequestOriginMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout response.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: a locked-out username and address is refused before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "correspondence_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PROJECT_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "correspondence_site.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{SITE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock when their transaction starts instead of failing to upgrade a
    # read lock half-way (the web server and the task worker share the file).
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The admin in the language each user picks in Wagtail's account settings, among those the
# product is translated into (the portal follows each letter's language).
WAGTAILADMIN_PERMITTED_LANGUAGES = [("en", "English"), ("fr", "Français"), ("nl", "Nederlands")]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Brussels")
USE_I18N = True
USE_TZ = True
# Dates are shown one way per language everywhere (admin, portal, notice emails), e.g.
# "4 Dec 2026, 21:52" in English: the formats live in correspondence_site/formats/<language>/,
# the moment in the user's time zone (Wagtail's account settings), else TIME_ZONE.
FORMAT_MODULE_PATH = ["correspondence_site.formats"]
# Date fields in forms (Wagtail's date pickers) take and show ISO dates, which no language
# reads with day and month swapped.
WAGTAIL_DATE_FORMAT = "%Y-%m-%d"
WAGTAIL_DATETIME_FORMAT = "%Y-%m-%d %H:%M"
WAGTAIL_TIME_FORMAT = "%H:%M"

STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT", str(SITE_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", str(SITE_DIR / "media"))

# Letters hold personal data: they live outside MEDIA_ROOT (which DEBUG serves publicly) and
# are served only through permission-checked views.
PRIVATE_STORAGE_ROOT = os.environ.get("PRIVATE_STORAGE_ROOT", str(SITE_DIR / "private"))

STORAGES = {
    "default": {"BACKEND": os.environ.get("DEFAULT_FILE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Letter PDFs, scans, mail and portal attachments, and the archive are personal data:
    # encrypted at rest with WAGTAIL_CORRESPONDENCE["ENCRYPTION_KEYS"].
    "letters": {"BACKEND": "wagtail_correspondence.storage.EncryptedFileSystemStorage",
                "OPTIONS": {"location": os.path.join(PRIVATE_STORAGE_ROOT, "letters"), "base_url": None}},
    "archive": {"BACKEND": "wagtail_correspondence.storage.EncryptedFileSystemStorage",
                "OPTIONS": {"location": os.path.join(PRIVATE_STORAGE_ROOT, "archive"), "base_url": None}},
    "print": {"BACKEND": "django.core.files.storage.FileSystemStorage",
              "OPTIONS": {"location": os.path.join(PRIVATE_STORAGE_ROOT, "print"), "base_url": None}},
}
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    # S3 through django-storages (the `s3` extra); credentials come from boto3's usual chain.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "default_acl": None,
            "file_overwrite": False,
        },
    }

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
# A mail server that hangs must not hold a worker or the deadline sweep forever.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "correspondence@example.org")

DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

TASKS = {
    "default": {"BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")},
}
if TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend":
    # Scale-out: tasks in Redis, run by `manage.py rqworker --job-class django_tasks_rq.Job
    # --with-scheduler` (the `rq` extra).
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS["default"]["QUEUES"] = ["default"]
    RQ_QUEUES = {"default": {"URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")}}

WAGTAIL_SITE_NAME = "Correspondence"
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
# Wagtail's database backend; on PostgreSQL its index writes at a flat cost per object
# (wagtail_correspondence/search_backend.py).
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail_correspondence.search_backend"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "rtf", "txt", "xlsx", "eml", "png", "jpg", "tif"]
WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT = True
# Content in several languages: each fragment, layout and letter template may have a variant
# per content language (wagtail-localize translates them; letters use the customer's language).
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES = [("en", "English"), ("fr", "Français"), ("nl", "Nederlands")]
# No page of the site makes the browser ask a third party for anything: avatars are the
# uploaded picture or Wagtail's default one, never Gravatar (which would receive a hash of
# every staff email address shown on a page), and Wagtail's dashboard does not ask
# releases.wagtail.org for new versions. The plugin's checks warn if either is turned on.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False


def env_int(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


# How many reverse proxies in front of the site append the client's address to
# X-Forwarded-For. 0: the client is REMOTE_ADDR and the header is ignored, since anyone can
# send it. The login rate limit and the API's anonymous throttle both count by this address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)


def client_address(request):
    """The client's address: REMOTE_ADDR, or with N trusted proxies the Nth address from the
    right of X-Forwarded-For (the one the outermost trusted proxy saw; entries to its left
    come from the client and prove nothing)."""
    from django.conf import settings

    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= count and forwarded[-count]:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


# Login rate limit (django-axes), on every password login: the Wagtail admin and Django's admin.
# Counted per username *and* address, so that guessing one account's password is stopped
# without letting anyone lock a colleague out from elsewhere; a success clears the count.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = client_address

# The API's throttle counts live in the cache: one shared Redis cache when several processes
# serve the site (otherwise each process counts on its own).
if os.environ.get("CACHE_REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["CACHE_REDIS_URL"]}}

REST_FRAMEWORK = {
    # Token first, so that an unauthenticated request gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON nested past WAGTAIL_CORRESPONDENCE["INPUT_LIMITS"]["JSON_MAX_DEPTH"] is a 400 naming
    # the field, for every DRF view of the site (the plugin's own views set it themselves).
    "DEFAULT_PARSER_CLASSES": [
        "wagtail_correspondence.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "wagtail_correspondence.api.errors.exception_handler",
    # Generous by default: the limits are there to stop a runaway client, not an integration.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        # People at the "user" rate; accounts in the "API integrations" role at the "service" rate.
        "wagtail_correspondence.api.throttling.PersonOrServiceRateThrottle",
    ],
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "120/minute"),
        "user": os.environ.get("API_THROTTLE_USER", "1200/minute"),
        "service": os.environ.get("API_THROTTLE_SERVICE", "60000/minute"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Correspondence API",
    "DESCRIPTION": "Content library, letters and the correspondence register.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The product's API only (not Wagtail's /admin/api/), as the plugin's schema view serves it;
    # here too so that `manage.py spectacular` writes the same schema.
    "PREPROCESSING_HOOKS": ["wagtail_correspondence.api.openapi.only_this_api"],
}

# Content-Security-Policy (django-csp) of every page that has none of its own. The plugin gives
# previews, rendered content, the portal and the API documentation stricter policies of their
# own (wagtail_correspondence/content_security.py). This one was measured, not guessed: the demo
# in report-only mode, every admin page that each demo role reaches (docs/security.md):
# - script-src 'unsafe-inline': Wagtail 8's form widgets (choosers, date pickers) and listing
#   filters start with an inline <script>. Nothing needs eval, an inline event handler
#   (script-src-attr 'none' refuses onerror= and the like) or a script from elsewhere; the
#   plugin's pages that show rendered content drop 'unsafe-inline'.
# - style-src 'unsafe-inline': the rich-text editor inserts <style> elements; some pages use
#   style attributes.
# - img-src data:: letters carry their images as data: URIs, and a letter shown in a frame of
#   an admin page (builder, letter page) is under this policy as well as its own.
# - frame-src 'self': Wagtail's preview panel and a letter's PDF.
# - no frame-ancestors: X-Frame-Options keeps deciding (DENY; SAMEORIGIN where the admin frames
#   a page of its own).
# CSP_REPORT_ONLY=true sends the policy as Content-Security-Policy-Report-Only (to measure a
# change first); CSP_REPORT_URI is where browsers report violations.
_CSP_REPORT_ONLY = env_bool("CSP_REPORT_ONLY", False)
_CSP_REPORT_URI = os.environ.get("CSP_REPORT_URI", "")
_CSP = {"DIRECTIVES": {
    "default-src": ["'none'"],
    "script-src": ["'self'", "'unsafe-inline'"],
    "script-src-attr": ["'none'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "frame-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
}}
if _CSP_REPORT_URI:
    _CSP["DIRECTIVES"]["report-uri"] = [_CSP_REPORT_URI]
if _CSP_REPORT_ONLY:
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

# No page asks a third party for anything (the policy above would refuse it anyway): no
# avatars from gravatar.com (a hash of every user's email address), no release check against
# releases.wagtail.org from the dashboard.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False

WAGTAIL_CORRESPONDENCE = {
    "ORGANISATION_NAME": os.environ.get("ORGANISATION_NAME", "Northwind Mutual"),
    # Comma-separated Fernet keys, newest first (see docs/security.md, "Encryption at rest").
    "ENCRYPTION_KEYS": os.environ.get("CORRESPONDENCE_ENCRYPTION_KEYS", ""),
    # Comma-separated HMAC keys sealing the audit log, newest first (docs/deployment.md).
    "AUDIT_KEYS": os.environ.get("CORRESPONDENCE_AUDIT_KEYS", ""),
    "CUSTOMER_DATA_SOURCE": {
        # The JSON file source, with due dates that move with the calendar (demo data).
        "BACKEND": "correspondence_demo.customers.DemoCustomerSource",
        "OPTIONS": {"path": str(SITE_DIR / "demo_data" / "customers.json")},
    },
    "PDF_BACKEND": os.environ.get("PDF_BACKEND", "typst"),
    "LETTER_STORAGE": "letters",
    # Brussels: Belgian addresses are written without a country line (postal.py).
    "HOME_COUNTRY": "BE",
    # The address customers reach the site at: portal links start with it. Unset: the address
    # of the request that generated the letter, else WAGTAILADMIN_BASE_URL.
    "PORTAL": {"BASE_URL": os.environ.get("CORRESPONDENCE_PUBLIC_URL", "")},
    "ARCHIVE": {"BACKEND": "wagtail_correspondence.delivery.archive.StorageArchive",
                "OPTIONS": {"storage": "archive", "prefix": ""}},
    "CHANNEL_BACKENDS": {
        "email": {"BACKEND": "wagtail_correspondence.delivery.email.EmailChannel", "OPTIONS": {}},
        "print": {"BACKEND": "wagtail_correspondence.delivery.printing.PrintRoomChannel",
                  "OPTIONS": {"storage": "print", "prefix": "", "duplex": True}},
        "portal": {"BACKEND": "wagtail_correspondence.delivery.portal.PortalChannel", "OPTIONS": {}},
    },
    # Scans and mail attachments are personal data: the private storage, like letters.
    "REGISTER": {
        "STORAGE": "letters",
        "DEFAULT_CALENDAR": {"country": "BE", "working_days": [0, 1, 2, 3, 4], "day_start": "09:00", "day_end": "17:00"},
    },
}

# The organisation's seal on letter PDFs (README, "Sealed PDFs"): a PKCS#12 file, its
# passphrase in the environment (never in the database), and the CAs a verification trusts.
if os.environ.get("CORRESPONDENCE_SEAL_PKCS12"):
    WAGTAIL_CORRESPONDENCE["PDF_SEAL"] = {
        "PKCS12": os.environ["CORRESPONDENCE_SEAL_PKCS12"], "PASSPHRASE_ENV": "CORRESPONDENCE_SEAL_PASSPHRASE",
        "TRUST_ROOTS": [path for path in os.environ.get("CORRESPONDENCE_SEAL_TRUST_ROOTS", "").split(",") if path],
        "VISIBLE": env_bool("CORRESPONDENCE_SEAL_VISIBLE", False),
    }

# Checkpoints of the audit chain: beside the archive (the "archive" storage) by default; in
# production an S3 bucket created with Object Lock, so that nobody can change or delete them.
if os.environ.get("CORRESPONDENCE_AUDIT_CHECKPOINT_BUCKET"):
    WAGTAIL_CORRESPONDENCE["AUDIT_CHECKPOINTS"] = {
        "BACKEND": "wagtail_correspondence.checkpoint_stores.S3CheckpointStore",
        "OPTIONS": {
            "bucket": os.environ["CORRESPONDENCE_AUDIT_CHECKPOINT_BUCKET"],
            "prefix": "audit-checkpoints",
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "object_lock_mode": os.environ.get("CORRESPONDENCE_AUDIT_CHECKPOINT_LOCK_MODE", "COMPLIANCE"),
            "retention_days": env_int("CORRESPONDENCE_AUDIT_CHECKPOINT_RETENTION_DAYS", 3650),
        },
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# The time zones a user may pick in their account settings: the tz database without the names
# that are files rather than zones (Debian's "localtime", "posixrules", "Factory", the posix/ and
# right/ copies). Browsers reject those, and Wagtail's account page raised a script error.
WAGTAIL_USER_TIME_ZONES = sorted(
    name for name in zoneinfo.available_timezones()
    if name not in {"localtime", "posixrules", "Factory"} and not name.startswith(("posix/", "right/"))
)
