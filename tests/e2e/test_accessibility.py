"""Every role's daily screens, opened in Chromium on the full demo: each answers 200, raises no
script error, and axe-core finds no critical or serious accessibility violation.

This is the suite's copy of what `../shared/tools/ui-tour` checks by hand: the screens below
are the ones the README's walk-throughs use. axe-core comes bundled with axe-playwright-python.
"""

from pathlib import Path

import axe_playwright_python
import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Page

from correspondence_demo.content import DemoBuilder
from wagtail_correspondence.models import (
    Correspondence,
    DataDictionary,
    Department,
    Fragment,
    Layout,
    Letter,
    LetterBatch,
    LetterTemplatePage,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "accessibility-demo-password"
AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
BLOCKING = {"critical", "serious"}


def snippet_url(model, action, *args):
    return reverse(f"wagtailsnippets_wagtail_correspondence_{model._meta.model_name}:{action}", args=args)


def letters_url(name, *args):
    return reverse(f"wagtail_correspondence_letters:{name}", args=args)


def entry_in(department_slug):
    return Correspondence.objects.filter(department__code=department_slug, confidentiality="internal").first() \
        or Correspondence.objects.filter(department__code=department_slug).first()


def screens():
    """(role, label, path) for the screens of every journey, found in the demo's data."""
    table_fragment = next(f for f in Fragment.objects.order_by("pk") if "table" in str(f.body.raw_data))
    template = LetterTemplatePage.objects.live().order_by("pk").first()
    billing = Department.objects.get(code="billing")
    letter = Letter.objects.filter(department=billing).exclude(reference="").order_by("pk").first()
    batch = LetterBatch.objects.order_by("pk").first()
    entry = entry_in("complaints")
    overdue = next(candidate for candidate in Correspondence.objects.filter(department__code="complaints")
                   if candidate.is_overdue)
    register = reverse("correspondence_register_entries_modeladmin_index")
    found = [
        ("author", "dashboard", "/admin/"),
        ("author", "fragments", snippet_url(Fragment, "list")),
        ("author", "fragment with a table", snippet_url(Fragment, "edit", table_fragment.pk)),
        ("author", "layout", snippet_url(Layout, "edit", Layout.objects.order_by("pk").first().pk)),
        ("author", "data dictionary", snippet_url(DataDictionary, "edit",
                                                  DataDictionary.objects.order_by("pk").first().pk)),
        ("author", "templates", reverse("letter_templates:index")),
        ("author", "template folders", reverse("wagtailadmin_explore", args=[template.get_parent().pk])),
        ("author", "template editor", reverse("wagtailadmin_pages:edit", args=[template.pk])),
        ("author", "account", reverse("wagtailadmin_account")),
        ("reviewer", "dashboard", "/admin/"),
        ("reviewer", "side by side", snippet_url(Fragment, "side_by_side", table_fragment.pk)),
        # Both open by the author meanwhile (see someone_else_has_it_open).
        ("reviewer", "fragment editor", snippet_url(Fragment, "edit", table_fragment.pk)),
        ("reviewer", "template editor", reverse("wagtailadmin_pages:edit", args=[template.pk])),
        ("agent", "dashboard", "/admin/"),
        ("agent", "letters", letters_url("index")),
        ("agent", "draft letters", letters_url("index") + "?status=draft"),
        ("agent", "new letter", letters_url("add")),
        ("agent", "letter builder", letters_url("build", template.pk)),
        ("agent", "batches", letters_url("batches")),
        ("agent", "new batch", letters_url("batch_create")),
        ("officer", "dashboard", "/admin/"),
        ("officer", "register", register),
        ("officer", "register an entry", reverse("correspondence_register_entries_modeladmin_create")),
        ("officer", "entry", reverse("correspondence_register_entries_modeladmin_inspect", args=[entry.pk])),
        ("officer", "overdue entry", reverse("correspondence_register_entries_modeladmin_inspect", args=[overdue.pk])),
        ("supervisor", "dashboard", "/admin/"),
        ("supervisor", "overdue", register + "?deadline=overdue"),
        ("supervisor", "print runs", letters_url("print_runs")),
        ("auditor", "audit log", reverse("wagtail_correspondence_audit:index")),
        ("admin", "workflows", reverse("wagtailadmin_workflows:index")),
    ]
    if letter:
        found.append(("agent", "letter", letters_url("inspect", letter.pk)))
    if batch:
        found.append(("supervisor", "batch", letters_url("batch", batch.pk)))
    return found


@pytest.fixture
def demo(transactional_db):
    DemoBuilder(password=PASSWORD, log=lambda *args: None).build()
    # The page tree's root is Wagtail's; the demo's template library hangs below it.
    assert Page.objects.filter(depth=1).exists()


def blocking_violations(page):
    # Evaluated through the DevTools protocol, not a <script> tag: the page's CSP stays in force.
    page.evaluate(AXE_SOURCE)
    violations = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["html"][:120] for node in violation["nodes"][:3])
        for violation in violations if violation["impact"] in BLOCKING
    ]


def someone_else_has_it_open(obj, username):
    """Wagtail shows the others editing an item as avatar buttons in its editor's header."""
    from django.contrib.auth import get_user_model
    from wagtail.admin.models import EditingSession

    EditingSession.objects.create(user=get_user_model().objects.get(username=username),
                                  content_type=ContentType.objects.get_for_model(obj),
                                  object_id=str(obj.pk), last_seen_at=timezone.now(), is_editing=False)


def test_every_roles_screens_are_accessible_and_error_free(demo, open_session):
    table_fragment = next(f for f in Fragment.objects.order_by("pk") if "table" in str(f.body.raw_data))
    someone_else_has_it_open(table_fragment, "author")
    # A page's editing sessions are filed under Page, whatever its type.
    someone_else_has_it_open(LetterTemplatePage.objects.live().order_by("pk").first().page_ptr, "author")
    problems = []
    pages = {}
    for role, label, path in screens():
        if role not in pages:
            page = pages[role] = open_session(role, PASSWORD)
            page.errors = []
            page.on("console", lambda message, page=page: message.type == "error" and page.errors.append(message.text))
            page.on("pageerror", lambda error, page=page: page.errors.append(str(error)))
        page = pages[role]
        page.errors.clear()
        response = page.goto(path)
        page.wait_for_load_state("networkidle")
        where = f"{role} · {label} ({path})"
        if response.status != 200:
            problems.append(f"{where}: HTTP {response.status}")
            continue
        problems += [f"{where}: script error: {error[:200]}" for error in page.errors]
        problems += [f"{where}: {violation}" for violation in blocking_violations(page)]
    assert not problems, "\n".join(problems)
