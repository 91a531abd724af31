"""The plugin's settings: one dict, ``WAGTAIL_CORRESPONDENCE``, with every default here.

Read a value with ``get_setting("NAME")``; never read ``settings.WAGTAIL_CORRESPONDENCE``
directly elsewhere, so that defaults and validation stay in one place.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

# The languages the product's own screens, the portal and its emails are translated into
# (locale/<code>/). Letters may be written in other languages (LANGUAGES below); the portal
# of such a letter speaks the site's LANGUAGE_CODE.
UI_LANGUAGES = ("en", "fr", "nl")

DEFAULTS = {
    "ORGANISATION_NAME": "Correspondence",
    # Fernet keys encrypting customer data at rest (letter data and texts, batch rows, notes,
    # portal replies, and files in the encrypted storages). The first encrypts, all decrypt:
    # rotate by putting a new key first and running correspondence_rotate_keys. Empty: a key
    # derived from SECRET_KEY (development only; `check --deploy` warns).
    "ENCRYPTION_KEYS": [],
    # HMAC keys sealing the audit log (url-safe base64, at least 32 random bytes each), newest
    # first: the first seals new entries and signs checkpoints, all verify. Rotate by putting a
    # new key first and, to retire the old one, running correspondence_audit_rekey. Empty: a key
    # derived from SECRET_KEY (development only; `check --deploy` warns). See audit_keys.py.
    "AUDIT_KEYS": [],
    # Where checkpoints of the audit chain's head are written, each as a new object, never
    # overwritten. "archive": beside the archive (its storage alias, or its S3 bucket with the
    # same Object Lock); else "wagtail_correspondence.checkpoint_stores.StorageCheckpointStore"
    # (OPTIONS: storage, prefix) or "...S3CheckpointStore" (OPTIONS: bucket, prefix,
    # object_lock_mode, retention_days, ...). See checkpoint_stores.py.
    "AUDIT_CHECKPOINTS": {"BACKEND": "archive", "OPTIONS": {"prefix": "audit-checkpoints"}},
    # Pluggable customer data source: a class with search(), get() (see customers.py).
    "CUSTOMER_DATA_SOURCE": {
        "BACKEND": "wagtail_correspondence.customers.JSONFileCustomerSource",
        "OPTIONS": {"path": None},
    },
    "DEFAULT_CURRENCY": "EUR",
    "DEFAULT_LOCALE": "en_GB",
    # Babel locale for a letter language, e.g. {"fr": "fr_BE"}. Unlisted languages use
    # DEFAULT_LOCALE when it is of the same language, else the bare language code.
    "LOCALES": {},
    # The organisation's country (its ISO code, e.g. "BE", or its name): addresses in it are
    # written without the country line, as the post asks for mail within a country. "" writes
    # every country.
    "HOME_COUNTRY": "",
    "LANGUAGES": [("en", _("English")), ("fr", _("French")), ("nl", _("Dutch")), ("de", _("German"))],
    # A letter asked for in a language its template, layout or a fragment has no approved
    # translation in: False refuses it, naming the piece and the language; True builds it with
    # that piece in the template's language and records on the letter which pieces fell back.
    "LANGUAGE_FALLBACK": False,
    "CHANNELS": [("print", _("Print")), ("email", _("Email")), ("sms", _("SMS")), ("portal", _("Secure portal")),
                 ("fax", _("Fax"))],
    # Name of the workflow that content must pass before it is live.
    "REVIEW_WORKFLOW_NAME": "Legal review",
    # Four-eyes review of content (fragments, layouts, letter templates): nobody approves a
    # change they contributed to (a revision since the last published one, or its submission),
    # superusers included, and nobody publishes it except the review workflow's approval. False
    # relaxes both for small teams: reviewers may approve their own changes and anyone holding
    # a publish permission may publish directly, as in plain Wagtail. See review/rules.py.
    "FOUR_EYES": True,
    # "weasyprint" (CSS paged media, "Page X of Y", PDF/A), "pdfkit" (wkhtmltopdf), "typst"
    # (Typst from the same document: PDF/A-2b, tagged; see rendering/typst_document.py), or
    # {"BACKEND": "dotted.path", "OPTIONS": {...}} for a backend of your own.
    # Typst: PDF/A-2b + PDF/UA-1, about 12x the pages per second of WeasyPrint (docs/performance.md).
    "PDF_BACKEND": "typst",
    # None, or "pdf/a-3b" to store letters as PDF/A-3b (WeasyPrint only).
    "PDF_VARIANT": None,
    # The organisation's seal on every generated letter's PDF (a PAdES signature, pyHanko;
    # see pdf_seal.py and the README, "Sealed PDFs"). None: letters are not sealed. Else a
    # dict: "PKCS12" (a .p12/.pfx file) or "KEY" and "CERTIFICATE" (PEM files), "CHAIN" (PEM
    # files of the issuing CAs), "PASSPHRASE" or "PASSPHRASE_ENV" (the name of an environment
    # variable holding it), "TRUST_ROOTS" (PEM files of the CAs a verification accepts;
    # default: the self-signed top of the chain, else the certificate itself), "REASON",
    # "LOCATION", "FIELD_NAME" and "VISIBLE" (True: a seal box at the bottom left of the last
    # page, in a standard font that is not embedded, so not for PDF/A). Keys stay in their files.
    "PDF_SEAL": None,
    # Reference numbers: {year} and {seq} (a counter per prefix and year, never reused).
    "LETTER_REFERENCE_PATTERN": "OUT-{year}-{seq:06}",
    # The Django STORAGES alias that keeps letter PDFs. Keep it out of any publicly served
    # location: PDFs are served only through permission-checked views.
    "LETTER_STORAGE": "default",
    # The work content may ask of the sandbox (rendering/budget.py): units per render (a block,
    # a subject, a condition) and per letter (everything one letter renders), the letter's
    # text in characters, and a wall-clock safety net. The defaults leave the demo's letters a
    # margin of several hundred times and stop the heaviest content in well under a second;
    # raise them for letters of thousands of rows. Lowering them can stop a letter that was
    # generated before from being rendered again the same way.
    "RENDER_BUDGET": {"WORK_PER_RENDER": 300_000, "WORK_PER_LETTER": 500_000, "OUTPUT_PER_LETTER": 1_000_000,
                      "SECONDS_PER_LETTER": 5},
    # A concatenated SMS longer than this many segments is refused at generation.
    "SMS_MAX_SEGMENTS": 3,
    # Delivery: one backend per channel. A letter's channel without a backend is not sent.
    "CHANNEL_BACKENDS": {
        "email": {"BACKEND": "wagtail_correspondence.delivery.email.EmailChannel", "OPTIONS": {}},
        "print": {"BACKEND": "wagtail_correspondence.delivery.printing.PrintRoomChannel",
                  "OPTIONS": {"storage": "default", "prefix": "print-runs", "duplex": True}},
    },
    # Every generated letter is archived here (the PDF and a JSON sidecar).
    "ARCHIVE": {"BACKEND": "wagtail_correspondence.delivery.archive.StorageArchive",
                "OPTIONS": {"storage": "default", "prefix": "archive"}},
    # Retries of failed deliveries: exponential back-off from BASE_DELAY seconds, capped at
    # MAX_DELAY, for at most MAX_ATTEMPTS attempts. A dispatch left "sending" by a worker that
    # stopped is reported after STALE_AFTER seconds, never resent automatically.
    "DISPATCH_RETRY": {"MAX_ATTEMPTS": 6, "BASE_DELAY": 60, "MAX_DELAY": 3600, "STALE_AFTER": 900},
    # Work that survives crashes. A worker running a batch renews the batch's lease as rows
    # complete; a batch whose lease is LEASE_SECONDS old is resumed by the recovery job (its
    # task re-enqueued, rows already generated skipped), at most MAX_AUTO_RESUMES times in a
    # row without progress (then it stops as failed, for a person to resume). Other tasks of
    # this app still "running" after TASK_STALE_AFTER seconds are marked failed (their work
    # is redone by the periodic sweeps). JOB_HOLD_SECONDS: how long a scheduler that started
    # a periodic job keeps other schedulers from starting it too (at least its interval).
    # CHUNK_ROWS: how many rows of a batch one task takes at a time (one reservation of
    # reference numbers, one write transaction, one SMTP connection); a batch is shared by as
    # many workers as there are chunks. DELIVERY_CLAIM: how many dispatches are marked
    # "sending" in one commit before they are sent (all of them "outcome unknown" if the
    # worker dies while sending them).
    "BACKGROUND": {"LEASE_SECONDS": 120, "MAX_AUTO_RESUMES": 3, "TASK_STALE_AFTER": 900, "JOB_HOLD_SECONDS": 900,
                   "CHUNK_ROWS": 200, "DELIVERY_CLAIM": 25},
    # Periodic jobs of `manage.py correspondence_scheduler`: a name, the dotted path of a
    # function called without arguments, and the interval in seconds. However many schedulers
    # run, each job starts once per interval; one failing job never stops the others; a job
    # whose function cannot be imported is skipped with a log line. Setting this replaces
    # the whole list (copy DEFAULTS["SCHEDULED_JOBS"] to change one entry).
    "SCHEDULED_JOBS": [
        {"name": "outbox", "job": "wagtail_correspondence.services.dispatch.process_due", "every": 60},
        {"name": "recovery", "job": "wagtail_correspondence.services.recovery.recover", "every": 30},
        {"name": "sla", "job": "wagtail_correspondence.services.sla.sweep", "every": 300},
        {"name": "audit-checkpoint", "job": "wagtail_correspondence.services.audit.write_checkpoint", "every": 3600},
        {"name": "register-exports", "job": "wagtail_correspondence.services.register_exports.delete_expired",
         "every": 900},
        # The dashboard's volumes of the scopes looked at lately, counted before they get old.
        {"name": "dashboard-volumes", "job": "wagtail_correspondence.services.register_volumes.refresh_watched",
         "every": 120},
    ],
    # Delivery receipts through Amazon SNS: where signing certificates and subscription links
    # may come from, which topics are accepted (empty: any), whether to confirm subscriptions.
    "DELIVERY_RECEIPTS": {"SNS_URL_PATTERN": r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/", "TOPIC_ARNS": [],
                          "CONFIRM_SUBSCRIPTIONS": True},
    # The customer portal: how long a link works, the public address links start with
    # (BASE_URL, e.g. "https://letters.example.org"; empty: the address of the request that
    # generated the letter, recorded by middleware.RequestOriginMiddleware, else
    # WAGTAILADMIN_BASE_URL; see public_urls.py), and what customers may attach to a reply
    # (checked by content).
    "PORTAL": {"LINK_MAX_AGE_DAYS": 30, "BASE_URL": "", "MAX_UPLOAD_BYTES": 10 * 1024 * 1024,
               "ALLOWED_UPLOAD_TYPES": ["application/pdf", "image/png", "image/jpeg"]},
    # Content-Security-Policy of the responses the plugin answers itself (django-csp's directive
    # format; see content_security.py). RENDERED: previews, the builder's preview endpoints and
    # the <meta> policy of every frame that shows rendered content: no script at all, sandboxed
    # (same origin kept, so that Wagtail's preview panel can keep its scroll position; without
    # scripts that grants the document nothing). PORTAL: the customer portal, which has no
    # script; its letter frame inherits it, hence inline styles and data: images. API_DOCS:
    # Swagger UI and Redoc, from drf-spectacular-sidecar's static files. A project replaces a
    # whole kind by setting it.
    "CONTENT_SECURITY_POLICY": {
        "RENDERED": {
            "default-src": ["'none'"],
            "script-src": ["'none'"],
            "style-src": ["'self'", "'unsafe-inline'"],
            "img-src": ["'self'", "data:"],
            "font-src": ["'self'", "data:"],
            "base-uri": ["'none'"],
            "form-action": ["'none'"],
            "frame-ancestors": ["'self'"],
            "sandbox": ["allow-same-origin"],
        },
        "PORTAL": {
            "default-src": ["'none'"],
            "script-src": ["'none'"],
            "style-src": ["'self'", "'unsafe-inline'"],
            "img-src": ["'self'", "data:"],
            "font-src": ["'self'", "data:"],
            "base-uri": ["'none'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'none'"],
        },
        "API_DOCS": {
            "default-src": ["'none'"],
            "script-src": ["'self'"],
            "style-src": ["'self'", "'unsafe-inline'"],
            "img-src": ["'self'", "data:"],
            "font-src": ["'self'", "data:"],
            "connect-src": ["'self'"],
            "worker-src": ["blob:"],
            "base-uri": ["'none'"],
            "form-action": ["'none'"],
            "frame-ancestors": ["'none'"],
        },
    },
    # The register: reference patterns per direction ({year}, {seq}); outbound shares the
    # letters' counter so a letter and its register entry carry the same number. STORAGE keeps
    # scans and mail attachments (private). A new entry without a matching SLA policy gets
    # DEFAULT_SLA; deadlines use DEFAULT_CALENDAR unless a department has its own calendar.
    # Reminders go out by email from NOTIFY_FROM (default: DEFAULT_FROM_EMAIL).
    "REGISTER": {
        "REFERENCE_PATTERNS": {"inbound": "IN-{year}-{seq:06}", "outbound": "OUT-{year}-{seq:06}",
                               "internal": "INT-{year}-{seq:06}"},
        "STORAGE": "default",
        "MAX_UPLOAD_BYTES": 25 * 1024 * 1024,
        "ALLOWED_UPLOAD_TYPES": ["application/pdf", "image/png", "image/jpeg", "image/tiff", "text/plain",
                                 "message/rfc822",
                                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
        "DEFAULT_SLA": {"response_time": 10, "unit": "working_days", "reminder_percentages": [50, 80],
                        "escalation_interval_hours": 8},
        "DEFAULT_CALENDAR": {"country": "", "subdivision": "", "working_days": [0, 1, 2, 3, 4],
                             "day_start": "09:00", "day_end": "17:00", "time_zone": "", "closed_days": []},
        "NOTIFY_FROM": "",
        "DUE_SOON_HOURS": 24,
        # Lists count matching entries exactly up to this many and say "more than" beyond: an
        # exact count of a million rows costs a scan on every page.
        "EXACT_COUNT_LIMIT": 10_000,
        # ...and give up counting after this long on PostgreSQL (a common word searched in a
        # large scope): the list then shows its pages without a total. 0: no time limit.
        "COUNT_TIME_LIMIT_MS": 100,
        # Searched lists count their matches exactly up to this many, and say "more than"
        # beyond: a common word matches tens of thousands of entries, each of which would be
        # read to be counted; people narrow a search rather than page through it.
        "SEARCH_COUNT_LIMIT": 1_000,
        # A list found larger than its count limit (or too slow to count) is not counted again
        # for this long: its next pages say "more than" from memory. 0: counted on every page.
        "LARGE_COUNT_SECONDS": 300,
        # The dashboard's weekly volumes and overdue count are counted at most this often per
        # scope (everyone who sees the whole register shares them): at a million entries they
        # cost 130-280 ms to count. The scheduler's "dashboard-volumes" job counts again the
        # scopes looked at in the last hour before their counts reach this age, so a visit
        # reads them ready. 0: counted on every visit.
        "DASHBOARD_CACHE_SECONDS": 300,
        # Search takes matches from the search index, and word matches from entries changed in
        # the last SEARCH_INDEX_LAG_MINUTES, which the index may not have caught up with yet.
        "SEARCH_INDEX_LAG_MINUTES": 60,
        # Exports of more entries than this (or of more than EXACT_COUNT_LIMIT, or of a list
        # whose count timed out) are written by a background task instead of the request: the
        # user finds the file on the Exports page. Their files are kept EXPORT_KEEP_HOURS, then
        # deleted by the scheduler's "register-exports" job.
        "EXPORT_INLINE_LIMIT": 10_000,
        "EXPORT_KEEP_HOURS": 24,
        # Mail intake registers up to this many messages together (one transaction, the rules
        # read once, the rows written in bulk): 100 messages take about as many statements as
        # two registered one by one. The counter of reference numbers stays locked while a run
        # is written (about a second for 100 messages on 2 cores), so a registration made in
        # the admin meanwhile waits that long; 1 registers each message on its own.
        "INTAKE_RUN": 100,
    },
    # Bounds on what comes in (json_limits.py): JSON nested deeper than JSON_MAX_DEPTH levels
    # (API bodies, batch files, the letter builder, the admin's JSON fields) and CSV cells
    # longer than CSV_MAX_CELL_CHARS characters (batch files) are refused with a 400 that
    # names the field, the row or the column.
    "INPUT_LIMITS": {"JSON_MAX_DEPTH": 32, "CSV_MAX_CELL_CHARS": 1024 * 1024},
}

PDF_BACKENDS = {
    "weasyprint": "wagtail_correspondence.rendering.pdf.WeasyPrintBackend",
    "pdfkit": "wagtail_correspondence.rendering.pdf.PdfkitBackend",
    "typst": "wagtail_correspondence.rendering.pdf.TypstBackend",
}


# Groups of options: a project sets only the keys it changes, the rest keep their defaults.
MERGED = {"REGISTER", "PORTAL", "DISPATCH_RETRY", "DELIVERY_RECEIPTS", "RENDER_BUDGET", "CONTENT_SECURITY_POLICY",
          "INPUT_LIMITS", "BACKGROUND"}


def get_setting(name):
    if name not in DEFAULTS:
        raise KeyError(f"Unknown WAGTAIL_CORRESPONDENCE setting {name!r}")
    configured = getattr(settings, "WAGTAIL_CORRESPONDENCE", {})
    unknown = set(configured) - set(DEFAULTS)
    if unknown:
        raise ImproperlyConfigured(f"Unknown WAGTAIL_CORRESPONDENCE keys: {', '.join(sorted(unknown))}")
    value = configured.get(name, DEFAULTS[name])
    if name in MERGED and value is not DEFAULTS[name]:
        unknown = set(value) - set(DEFAULTS[name])
        if unknown:
            raise ImproperlyConfigured(f"Unknown WAGTAIL_CORRESPONDENCE[{name!r}] keys: {', '.join(sorted(unknown))}")
        value = {**DEFAULTS[name], **value}
    return value


def load_backend(name, shortcuts=None):
    """Instantiate a pluggable part configured as ``{"BACKEND": "dotted.path", "OPTIONS": {...}}``
    (or as a short name listed in ``shortcuts``)."""
    config = get_setting(name)
    if isinstance(config, str):
        config = {"BACKEND": (shortcuts or {}).get(config, config)}
    try:
        backend_class = import_string(config["BACKEND"])
    except (KeyError, ImportError) as exc:
        raise ImproperlyConfigured(f"WAGTAIL_CORRESPONDENCE[{name!r}]['BACKEND'] is invalid: {exc}") from exc
    return backend_class(**config.get("OPTIONS", {}))


def language_name(code):
    """A language code as its name in the reader's language ("French" for "fr" in English,
    "français" in French); an unknown code as it is, rather than failing a page or a message."""
    try:
        return translation.get_language_info(code)["name_translated"] if code else ""
    except KeyError:
        return code
