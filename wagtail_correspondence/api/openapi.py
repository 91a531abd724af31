"""The API's OpenAPI documentation: what ``schema/`` and ``docs/`` show, and to whom.

- Only this API: Wagtail's own admin endpoints (``/admin/api/main/...``) and anything else the
  site routes through Django REST framework stay out (``only_this_api``).
- Grouped by resource (``TAGS``), every operation with a summary and a description, kept here
  in one place as an integrator reads them (``OPERATIONS``); a docstring on the view, where there
  is one, stays the description.
- For signed-in users only: an admin session or an API token (``docs_login_required``).
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view

from . import batches, letters, register, views

TAGS = [
    {"name": "Letters", "description": "Build, preview, generate and download letters; drafts."},
    {"name": "Templates", "description": "Published letter templates an agent may use, with their slots and data."},
    {"name": "Customers", "description": "The customer data source letters are built from."},
    {"name": "Batches", "description": "Many letters from one CSV file: checked first, then generated in the "
                                       "background."},
    {"name": "Register", "description": "The correspondence register: incoming and outgoing mail, its routing, "
                                        "deadlines and history; the departments it is routed to."},
    {"name": "Content", "description": "The content library: approved fragments, layouts and data dictionaries."},
    {"name": "Receipts", "description": "Delivery receipts from the sending services."},
    {"name": "Account", "description": "The signed-in user."},
]

# view: (tag, {operation: summary, or (summary, description) where the view has no docstring})
OPERATIONS = {
    letters.LetterViewSet: ("Letters", {
        "list": ("List letters", "Letters the user may see, drafts and generated, newest first; filter by "
                                 "status, template, customer or reference; ``awaiting_my_approval=true`` lists "
                                 "the letters you may approve."),
        "retrieve": ("Get a letter", "A letter with its outputs, pinned content revisions and delivery on each "
                                     "channel. Each read is in the audit log."),
        "create": "Generate a letter, or save a draft",
        "partial_update": "Change a draft",
        "destroy": "Discard a draft",
        "generate": "Generate a saved draft, or submit a returned letter again",
        "approve": "Approve a letter awaiting approval",
        "return_for_changes": "Return a letter awaiting approval to its agent",
        "withdraw": "Withdraw a letter under approval",
        "preview": "Preview a letter without saving it",
        "pdf": "Download a letter's PDF",
        "pdf_verification": "Check a letter's stored PDF and its seal",
        "verify_pdf": "Check a PDF someone holds: our seal, and which letter it is",
    }),
    letters.TemplateViewSet: ("Templates", {
        "list": ("List templates", "Live letter templates the user may build letters from; ``search`` matches "
                                   "the title."),
        "retrieve": ("Get a template", "A live template with its agent slots, optional fragments, channels and "
                                       "the JSON Schema of the data it needs."),
    }),
    letters.CustomerViewSet: ("Customers", {
        "list": ("Find customers", "Customers of the data source matching ``search``, as short summaries."),
        "retrieve": "Get a customer's record",
    }),
    batches.BatchViewSet: ("Batches", {
        "list": ("List batches", "The latest 100 batches the user may see, with their progress."),
        "create": ("Upload a batch", "A CSV file of letter data for one template. Every row is checked at once "
                                     "(a dry run); nothing is generated until ``start``."),
        "retrieve": ("Get a batch", "The batch's check report, progress and results."),
        "start": ("Start a checked batch", "Generate the batch's letters in the background. Refused (409) while "
                                           "the batch is not checked."),
        "resume": "Resume a stopped batch",
        "cancel": ("Cancel a batch", "No further letters are generated; those already generated stay."),
    }),
    register.CorrespondenceViewSet: ("Register", {
        "list": ("List register entries the user may see",
                 "Entries in the user's scope (departments and confidentiality), filtered by status, direction, "
                 "department, assignee, dates, customer or words."),
        "retrieve": ("One entry, with thread, documents, notes and available actions",
                     "Each read is in the audit log."),
    }),
    views.DepartmentViewSet: ("Register", {
        "list": ("List departments", "The department tree, in tree order; filter by ``is_active`` or ``code``."),
        "retrieve": ("Get a department", "One department with its place in the tree."),
    }),
    views.FragmentViewSet: ("Content", {
        "list": ("List live fragments", "Approved content fragments that are live and not expired."),
        "retrieve": ("Get a fragment", "A live fragment by its key, with its blocks."),
    }),
    views.LayoutViewSet: ("Content", {
        "list": ("List layouts", "Letter layouts (letterheads): page size, address window, page numbers."),
        "retrieve": ("Get a layout", "One layout."),
    }),
    views.DataDictionaryViewSet: ("Content", {
        "list": ("List data dictionaries", "The data dictionaries with their fields and sample data sets."),
        "retrieve": ("Get a data dictionary", "One data dictionary with its fields and sample data sets."),
        "validate": "Check a payload against a data dictionary",
    }),
    letters.SnsReceiptView: ("Receipts", {"post": "Receive a delivery receipt from Amazon SNS"}),
    views.MeView: ("Account", {"get": "Who am I"}),
}


def _document(view, tag, operations):
    annotations = {}
    for name, text in operations.items():
        summary, description = (text, None) if isinstance(text, str) else text
        annotations[name] = extend_schema(summary=summary, description=description)
    extend_schema_view(**annotations)(view)
    # Last: a class-level annotation is the base of every operation's own (summary, responses).
    extend_schema(tags=[tag])(view)


for _view, (_tag, _operations) in OPERATIONS.items():
    _document(_view, _tag, _operations)


def only_this_api(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: the operations of this API, nothing else the site
    routes through REST framework (Wagtail's admin API is internal to its editor)."""
    root = reverse("wagtail_correspondence_api:me").removesuffix("me/")
    return [(path, regex, method, callback) for path, regex, method, callback in endpoints
            if path.startswith(root) and not callback.cls.__module__.startswith("drf_spectacular")]


# drf-spectacular settings of the schema view, whatever the site's SPECTACULAR_SETTINGS say.
SCHEMA_SETTINGS = {
    "PREPROCESSING_HOOKS": [f"{__name__}.only_this_api"],
    "TAGS": TAGS,
}


def docs_login_required(view):
    """The documentation pages for signed-in users: others are sent to the admin's login, and
    come back here after it (the schema itself answers 401 to a request without credentials)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("wagtailadmin_login"))
        return view(request, *args, **kwargs)

    return wrapped
