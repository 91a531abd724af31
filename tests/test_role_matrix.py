"""The role matrix of docs/security.md, walked cell by cell through the admin and the API.

One world per test (tests/world.py). Each (action, role) cell of the matrix is a test that goes through
the admin and, where the action has one, the API: what the role may do works and leaves its
mark; what it may not do is refused (API 403, or 404 for an object outside the user's scope;
admin 403 or Wagtail's redirect to the dashboard) and leaves the database as it was. Then, per
role, every list, search, export, count and page holds exactly the references written out
below by hand; and every write endpoint of the OpenAPI schema refuses an auditor.

The expected sets are written by hand on purpose: computing them with
``services.register_access`` or ``services.letter_access`` would test those helpers against
themselves. Where the product does not do what the matrix says, the cell is an expected
failure (``xfail(strict=True)``) whose reason starts with "Finding:".
"""

import csv
import io
import json
import re
import uuid
from types import SimpleNamespace

import openpyxl
import pytest
import yaml
from django import forms as django_forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version
from wagtail.models import ModelLogEntry, PageLogEntry, Revision
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from wagtail_correspondence import log_actions
from wagtail_correspondence.models import (
    Attachment,
    AttachmentVersion,
    BusinessCalendar,
    Category,
    Confidentiality,
    Correspondence,
    DataDictionary,
    Department,
    Fragment,
    Layout,
    Letter,
    LetterBatch,
    PrintRun,
    Note,
    RegisterExport,
    RoutingRule,
    SlaPolicy,
)
from wagtail_correspondence.services import batches as batch_service
from wagtail_correspondence.services import letters as letter_service
from wagtail_correspondence.services import register as register_service

from . import factories
from .world import (
    ALL_ENTRIES,
    BATCHES,
    ENTRIES_BY_NAME,
    NOBODY,
    READS_LETTERS,
    RESTORABLE,
    ROLES,
    SEES,
    SEES_WITH_LETTERS,
    write_letter,
)

API = "/api/correspondence/v1/"
ENTRIES = "/admin/correspondence/register/entries/"
REGISTER = "/admin/correspondence/register/"
LETTERS = "/admin/correspondence/letters/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# Edit, transition, notes and documents: the scope, for those who work entries.
WORKS = {**SEES, "auditor": NOBODY}
# Assigning to someone else: officers in their scope, supervisors and administrators all.
ASSIGNS = {**WORKS, "agent": NOBODY}
# Writes are tried on one entry per rule of the scope (reads on every entry): the agent's and
# the officer's department, the department above it, an entry assigned to the agent, one the
# officer registered, and a strictly confidential one of their department.
WRITE_TARGETS = ("complaints", "service", "agent_case", "officer_registered", "secret")
RESTORES = {role: RESTORABLE if role in ("supervisor", "admin", "superuser") else NOBODY for role in ROLES}

# "My work" on the dashboard: open entries assigned to me; open unassigned entries of my
# departments and below.
MY_WORK = {
    "agent": ({"agent_case", "agent_secret"}, 2),
    "officer": (set(), 3),  # complaints, escalations, officer_secret
    "supervisor": (set(), 5),  # complaints, escalations, officer_secret, service, billing
    "auditor": (set(), 0),
    "admin": (set(), 2),  # legal, officer_registered
    "superuser": (set(), 0),
}


def test_the_world_is_as_described(world, entries):
    assert {name: entry.department.code for name, entry in entries.items()} == ENTRIES_BY_NAME
    assert {name for name, entry in entries.items() if entry.confidentiality == Confidentiality.SECRET} == {
        "secret", "agent_secret", "officer_secret"}
    assert {name: entry.assignee.username for name, entry in entries.items() if entry.assignee_id} == {
        "agent_case": "agent", "secret": "colleague", "agent_secret": "agent"}
    assert {name for name, entry in entries.items() if entry.created_by.username == "officer"} == {
        "officer_registered", "officer_secret"}
    assert all(entry.is_open for entry in entries.values())


# Requests and checks ------------------------------------------------------------------

def login(client, world, role):
    client.force_login(world.users[role])
    return client


def send(client, method, url, body=None, **extra):
    if body is None:
        return getattr(client, method)(url, **extra)
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json", **extra)


def admin_refused(response, target=None):
    """Wagtail's admin answers a refusal with 403, or a redirect to the dashboard and a message."""
    return response.status_code == 403 or (response.status_code == 302 and response["Location"] == "/admin/")


def admin_scope_refused(visible):
    """The admin's refusal for an object: 404 when it is outside the scope of a user who may
    use this part of the admin (its existence does not leak); otherwise Wagtail's refusal,
    for a user who may not use it at all or sees the object but may not do this."""

    def refused(response, target):
        if visible and target not in visible:
            return response.status_code == 404
        return admin_refused(response)

    return refused


def forbidden(response, target=None):
    return response.status_code == 403


def api_refused(visible):
    """The API's refusal for an object: 404 when it is outside the user's scope, so that its
    existence does not leak; 403 when the user sees it but may not do this, or may not use
    this part of the API at all."""

    def refused(response, target):
        return response.status_code == (403 if target in visible or not visible else 404)

    return refused


def admin_saved(response):
    return response.status_code == 302 and response["Location"] != "/admin/"


def content(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def state():
    """What a refused request must leave as it was: row counts (one query) and the fields the
    actions change."""
    from django.db import connection

    counted = [Correspondence, Note, Attachment, AttachmentVersion, Version, Revision, Letter, LetterBatch,
               ModelLogEntry, PageLogEntry, RoutingRule, SlaPolicy, Category, BusinessCalendar, Layout, Fragment,
               DataDictionary, get_user_model(), Group, Department, PrintRun, RegisterExport]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{model._meta.db_table}")' for model in counted))
        counts = cursor.fetchone()
    return (
        counts,
        list(Correspondence.objects.order_by("pk").values_list(
            "pk", "subject", "status", "priority", "assignee_id", "department_id", "confidentiality", "due_at")),
        list(Letter.objects.order_by("pk").values_list("pk", "status", "reference")),
        list(LetterBatch.objects.order_by("pk").values_list("pk", "status")),
        [list(model.objects.order_by("pk").values_list("pk", "live_revision_id", "latest_revision_id"))
         for model in (Layout, Fragment)],
        list(DataDictionary.objects.order_by("pk").values_list("pk", "name", "latest_revision_id")),
    )


def walk(role, targets, allowed, attempt, refused, worked):
    """Try ``attempt`` on every target (it sends one request or several): on allowed targets
    ``worked`` checks that each request succeeded and left its mark; every other target must
    see each of its requests ``refused`` and the database unchanged."""
    for target in targets:
        before = state() if target not in allowed else None
        responses = attempt(target)
        responses = responses if isinstance(responses, tuple) else (responses,)
        if target in allowed:
            worked(target, *responses)
        else:
            codes = [(response.status_code, response.get("Location")) for response in responses]
            assert all(refused(response, target) for response in responses), (role, target, codes)
            assert state() == before, (role, target, "a refused request changed the database")


def snippet_form(world, model, instance=None):
    """The admin's form for a snippet, as an editor who may use it gets it, to post it back
    (changed) as the user under test."""
    form_class = model.snippet_viewset.get_form_class(for_update=instance is not None)
    if instance is None:
        instance = model()
    elif hasattr(instance, "get_latest_revision_as_object"):
        instance = instance.get_latest_revision_as_object()
    return form_data(form_class(instance=instance, for_user=world.users["superuser"]))


def form_data(form):
    """POST data that submits ``form`` unchanged (rich text, StreamFields and inline formsets
    included)."""
    from wagtail.admin.rich_text.editors.draftail import DraftailRichTextArea
    from wagtail.blocks.base import BlockWidget

    data = {}
    for name, field in form.fields.items():
        bound = form[name]
        key, value, widget = bound.html_name, bound.value(), field.widget
        if isinstance(widget, BlockWidget):
            data.update(nested_form_data({key: streamfield(
                [(child.block_type, rich_text(child.value.source)) for child in value])}))
        elif isinstance(widget, DraftailRichTextArea):
            data[key] = widget.format_value(value)
        elif isinstance(widget, django_forms.CheckboxInput):
            if value:
                data[key] = "on"
        elif isinstance(value, (list, tuple)):
            data[key] = [str(item) for item in value]
        elif value is None:
            data[key] = ""
        else:
            data[key] = value
    for formset in getattr(form, "formsets", {}).values():
        management = formset.management_form
        data.update({management[name].html_name: management[name].value() for name in management.fields})
        for subform in formset.forms:
            data.update(form_data(subform))
    return data


def snippet_url(model, action, *args):
    return reverse(f"wagtailsnippets_wagtail_correspondence_{model}:{action}", args=args)


# The actions --------------------------------------------------------------------------
#
# One function per row of the matrix and surface. The roles allowed are written out (per
# target object where the row is about objects in a scope); ``walk`` tries every target.

ACTIONS = {}


def action(name, surface):
    def register(function):
        ACTIONS.setdefault(name, {})[surface] = function
        return function

    return register


# Content: fragments, layouts, data dictionaries (snippets; the API only reads them).

EDITS_CONTENT = {"author", "reviewer", "admin", "superuser"}
ADDS_CONTENT = {"author", "admin", "superuser"}
# Nobody publishes content directly, superusers included: only the review workflow's approval
# does (four-eyes, tests/test_four_eyes.py). A Publish posted anyway saves a draft at most.
PUBLISHES_CONTENT = set()
TITLE = {"layout": "name", "fragment": "title", "datadictionary": "name"}


@action("edit content", "admin")
def edit_content_admin(client, world, role):
    library = world.library
    objects = {"layout": library.layout, "fragment": library.fragment, "datadictionary": library.dictionary}

    def attempt(model):
        data = snippet_form(world, type(objects[model]), objects[model])
        data[TITLE[model]] = f"Edited by {role}"
        return client.post(snippet_url(model, "edit", objects[model].pk), data)

    def worked(model, response):
        assert admin_saved(response), (role, model, response.status_code)
        instance = type(objects[model]).objects.get(pk=objects[model].pk)
        assert getattr(instance.latest_revision.as_object(), TITLE[model]) == f"Edited by {role}"
        assert instance.latest_revision.user == world.users[role]

    walk(role, objects, objects if role in EDITS_CONTENT else NOBODY, attempt, admin_refused, worked)


@action("add content", "admin")
def add_content_admin(client, world, role):
    models = {"layout": Layout, "datadictionary": DataDictionary}

    def attempt(model):
        data = snippet_form(world, models[model])
        data.update({"name": f"Added by {role}", "sender_block": "Northwind Mutual"})
        return client.post(snippet_url(model, "add"), data)

    def worked(model, response):
        assert admin_saved(response), (role, model, response.status_code)
        assert models[model].objects.get(name=f"Added by {role}").latest_revision.user == world.users[role]

    walk(role, models, models if role in ADDS_CONTENT else NOBODY, attempt, admin_refused, worked)


@action("publish content", "admin")
def publish_content_admin(client, world, role):
    library = world.library
    objects = {"layout": library.layout, "fragment": library.fragment}

    def published(model):
        instance = type(objects[model]).objects.get(pk=objects[model].pk)
        return (getattr(instance, TITLE[model]), instance.live_revision_id,
                ModelLogEntry.objects.filter(action="wagtail.publish").count())

    for model, instance in objects.items():
        data = snippet_form(world, type(instance), instance)
        data[TITLE[model]] = f"Published by {role}"
        before = published(model)
        response = client.post(snippet_url(model, "edit", instance.pk), {**data, "action-publish": "action-publish"})
        if role in PUBLISHES_CONTENT:
            assert admin_saved(response), (role, model, response.status_code)
            title, live_revision, publications = published(model)
            assert title == f"Published by {role}" and live_revision != before[1]
            assert publications == before[2] + 1
        else:
            # Someone who may edit but not publish gets the change saved as a draft (Wagtail
            # ignores an action the user may not take): not refused, and not published.
            assert admin_refused(response) or role in EDITS_CONTENT, (role, model, response.status_code)
            assert published(model) == before, (role, model)


# Letters: build, preview, save and generate.

BUILDS_LETTERS = {"agent", "officer", "admin", "superuser"}


def builder_data(**extra):
    return {"customer_id": "C-1001", "channel": "print", "idempotency_key": str(uuid.uuid4()), **extra}


@action("build, preview, save and generate letters", "admin")
def build_letters_admin(client, world, role):
    template = world.library.template
    user = world.users[role]

    def attempt(step):
        if step == "preview":
            return client.post(f"{LETTERS}preview/{template.pk}/", builder_data())
        return client.post(f"{LETTERS}new/{template.pk}/", builder_data(action=step))

    def worked(step, response):
        if step == "preview":
            assert response.status_code == 200 and "Ada" in response.json()["html"], response.content[:300]
            return
        assert admin_saved(response), (role, step, response.status_code)
        letter = Letter.objects.filter(created_by=user).latest("pk")
        if step == "generate":
            assert letter.is_generated and letter.generated_by == user and letter.pdf_sha256
            assert response["Location"] == reverse("wagtail_correspondence_letters:inspect", args=[letter.pk])
        else:
            assert letter.is_draft

    steps = ["preview", "save_draft", "generate"]
    walk(role, steps, steps if role in BUILDS_LETTERS else NOBODY, attempt, admin_refused, worked)


@action("build, preview, save and generate letters", "api")
def build_letters_api(client, world, role):
    user = world.users[role]
    body = {"template": world.library.template.pk, "customer_id": "C-1001", "channel": "print"}

    def attempt(step):
        if step == "preview":
            return send(client, "post", API + "letters/preview/", body)
        return send(client, "post", API + "letters/", {**body, "status": step})

    def worked(step, response):
        if step == "preview":
            assert response.status_code == 200 and "Ada" in response.json()["html"], response.content[:300]
            return
        assert response.status_code == 201, (role, step, response.content[:300])
        letter = Letter.objects.filter(created_by=user).latest("pk")
        assert letter.status == step and (step == "draft" or letter.reference == response.json()["reference"])

    steps = ["preview", "draft", "generated"]
    walk(role, steps, steps if role in BUILDS_LETTERS else NOBODY, attempt, forbidden, worked)


# Letters: read them and their PDFs.

def stored_pdf(letter):
    with letter.pdf.open("rb") as handle:
        return handle.read()


@action("read letters and their PDFs", "admin")
def read_letters_admin(client, world, role):
    letters = world.letters

    def attempt(name):
        return (client.get(f"{LETTERS}inspect/{letters[name].pk}/"), client.get(f"{LETTERS}pdf/{letters[name].pk}/"))

    def worked(name, page, pdf):
        assert page.status_code == 200 and letters[name].reference in page.content.decode()
        assert pdf.status_code == 200 and pdf.content == stored_pdf(letters[name])
        assert ModelLogEntry.objects.filter(object_id=str(letters[name].pk), user=world.users[role],
                                            action=log_actions.LETTER_PDF_DOWNLOADED).exists()

    walk(role, letters, READS_LETTERS[role], attempt, admin_scope_refused(READS_LETTERS[role]), worked)


@action("read letters and their PDFs", "api")
def read_letters_api(client, world, role):
    letters = world.letters

    def attempt(name):
        url = f"{API}letters/{letters[name].reference}/"
        return client.get(url), client.get(url + "pdf/")

    def worked(name, detail, pdf):
        assert detail.status_code == 200 and detail.json()["reference"] == letters[name].reference
        assert pdf.status_code == 200 and pdf.content == stored_pdf(letters[name])

    walk(role, letters, READS_LETTERS[role], attempt, api_refused(READS_LETTERS[role]), worked)


# The register: registering incoming mail.

REGISTERS_MAIL = {"officer", "supervisor", "admin", "superuser"}


@action("register incoming mail", "admin")
def register_mail_admin(client, world, role):
    def attempt(step):
        if step == "form":
            return client.get(f"{ENTRIES}create/")
        return client.post(f"{ENTRIES}create/", {
            "direction": "inbound", "kind": "letter", "channel": "post", "subject": f"Posted by {role}",
            "priority": "normal", "confidentiality": "internal", "recipients": "", "tags": "",
            "scan": SimpleUploadedFile("scan.pdf", PDF)})

    def worked(step, response):
        if step == "form":
            assert response.status_code == 200
            return
        entry = Correspondence.objects.get(subject=f"Posted by {role}")
        assert admin_saved(response) and entry.created_by == world.users[role] and entry.attachments.count() == 1

    steps = ["form", "post"]
    walk(role, steps, steps if role in REGISTERS_MAIL else NOBODY, attempt, admin_refused, worked)


LOOK_UP_SENDER = "look up the sender in the customer data source while registering (each record read logged)"


@action(LOOK_UP_SENDER, "admin")
def look_up_sender_admin(client, world, role):
    def attempt(step):
        if step == "search":
            return client.get(reverse("wagtail_correspondence_register:customer_search"), {"q": "Peeters"})
        return client.get(reverse("wagtail_correspondence_register:customer_party", args=["C-1001"]))

    def worked(step, response):
        assert response.status_code == 200, (role, step, response.status_code)
        if step == "search":
            assert [item["id"] for item in response.json()["results"]] == ["C-1001"]
        else:
            assert response.json()["party"]["sender_name"] == "Ada Peeters"
            assert ModelLogEntry.objects.filter(action=log_actions.CUSTOMER_RECORD_VIEWED,
                                                user=world.users[role]).exists()

    steps = ["search", "party"]
    walk(role, steps, steps if role in REGISTERS_MAIL else NOBODY, attempt, admin_refused, worked)


@action("register incoming mail", "api")
def register_mail_api(client, world, role):
    subject = f"Posted by {role} through the API"

    def worked(target, response):
        assert response.status_code == 201, response.content[:300]
        entry = Correspondence.objects.get(subject=subject)
        assert entry.reference == response.json()["reference"] and entry.created_by == world.users[role]

    walk(role, ["post"], {"post"} if role in REGISTERS_MAIL else NOBODY,
         lambda target: send(client, "post", API + "correspondence/", {"subject": subject}), forbidden, worked)


# The register: view entries (the strictly confidential ones included).

@action("view register entries", "admin")
def view_entries_admin(client, world, role):
    entries = world.entries

    def worked(name, response):
        assert response.status_code == 200 and entries[name].reference in response.content.decode()
        assert ModelLogEntry.objects.filter(object_id=str(entries[name].pk), user=world.users[role],
                                            action=log_actions.REGISTER_VIEWED).exists()

    walk(role, ALL_ENTRIES, SEES[role], lambda name: client.get(f"{ENTRIES}inspect/{entries[name].pk}/"),
         admin_scope_refused(SEES[role]), worked)


@action("view register entries", "api")
def view_entries_api(client, world, role):
    entries = world.entries

    def attempt(name):
        url = f"{API}correspondence/{entries[name].reference}/"
        return client.get(url), client.get(url + "history/")

    def worked(name, detail, history):
        assert detail.status_code == 200 and detail.json()["reference"] == entries[name].reference
        assert history.status_code == 200 and history.json()

    walk(role, ALL_ENTRIES, SEES[role], attempt, api_refused(SEES[role]), worked)


# The register: edit entries and move them through the status machine. The admin closes
# each entry; the API then reopens it (or closes it, when tried on its own).

def edit_form(entry, subject):
    return {"kind": entry.kind, "channel": entry.channel, "subject": subject, "body": entry.body,
            "priority": entry.priority, "confidentiality": entry.confidentiality, "recipients": "", "tags": "",
            "received_at": timezone.localtime(entry.received_at).strftime("%Y-%m-%d %H:%M")}


def current(world, name):
    return Correspondence.objects.get(pk=world.entries[name].pk)


@action("edit and transition register entries", "admin")
def edit_entries_admin(client, world, role):
    def attempt(name):
        entry = current(world, name)
        return (client.post(f"{ENTRIES}edit/{entry.pk}/", edit_form(entry, f"Edited by {role}")),
                client.post(f"{REGISTER}{entry.pk}/transition/", {"action": "close", "reason": "Matrix"}))

    def worked(name, edit, move):
        assert admin_saved(edit) and admin_saved(move), (role, name, edit.status_code, move.status_code)
        entry = current(world, name)
        assert entry.subject == f"Edited by {role}" and entry.status == "closed", (role, name)

    walk(role, WRITE_TARGETS, WORKS[role], attempt, admin_scope_refused(SEES[role]), worked)


@action("edit and transition register entries", "api")
def edit_entries_api(client, world, role):
    before = {}

    def attempt(name):
        url = f"{API}correspondence/{world.entries[name].reference}/"
        before[name] = current(world, name).status
        move = {"action": "reopen" if before[name] == "closed" else "close", "reason": "Matrix"}
        return (send(client, "patch", url, {"subject": f"Edited by {role} through the API"}),
                send(client, "post", url + "transition/", move))

    def worked(name, edit, move):
        assert edit.status_code == 200 and move.status_code == 200, (role, name, edit.content, move.content)
        entry = current(world, name)
        assert entry.subject == f"Edited by {role} through the API" and entry.status != before[name]

    walk(role, WRITE_TARGETS, WORKS[role], attempt, api_refused(SEES[role]), worked)


# The register: hand entries to someone else (the admin to lawyer, the API to colleague).

def assigned(world, role, name, assignee):
    entry = current(world, name)
    latest = Version.objects.get_for_object(entry).order_by("-revision__date_created", "-pk").first()
    assert entry.assignee == world.users[assignee] and latest.revision.user == world.users[role], (role, name)


@action("assign register entries to others", "admin")
def assign_entries_admin(client, world, role):
    def attempt(name):
        entry = current(world, name)
        return client.post(f"{REGISTER}{entry.pk}/assign/", {
            "department": entry.department_id, "assignee": world.users["lawyer"].pk, "reason": "Matrix"})

    def worked(name, response):
        assert admin_saved(response)
        assigned(world, role, name, "lawyer")

    walk(role, WRITE_TARGETS, ASSIGNS[role], attempt, admin_scope_refused(SEES[role]), worked)


@action("assign register entries to others", "api")
def assign_entries_api(client, world, role):
    def worked(name, response):
        assert response.status_code == 200, (role, name, response.content[:200])
        assigned(world, role, name, "colleague")

    walk(role, WRITE_TARGETS, ASSIGNS[role],
         lambda name: send(client, "post", f"{API}correspondence/{world.entries[name].reference}/assign/",
                           {"assignee": "colleague", "reason": "Matrix"}), api_refused(SEES[role]), worked)


# The register: restore earlier values (the API has no restore).

@action("restore earlier values of an entry", "admin")
def restore_admin(client, world, role):
    def attempt(name):
        entry = world.entries[name]
        first = Version.objects.get_for_object(entry).order_by("revision__date_created", "pk").first()
        return client.post(f"{REGISTER}{entry.pk}/restore/", {"version": first.pk})

    def worked(name, response):
        entry = current(world, name)
        latest = Version.objects.get_for_object(entry).order_by("-revision__date_created", "-pk").first()
        assert admin_saved(response) and entry.priority == "normal", (role, name)
        assert latest.revision.user == world.users[role] and "Restored" in latest.revision.comment

    walk(role, RESTORABLE, RESTORES[role], attempt, admin_scope_refused(SEES[role]), worked)


# The register: export (the admin's list; the API lists instead).

EXPORTS = {"supervisor", "auditor", "admin", "superuser"}


@action("export the register", "admin")
def export_admin(client, world, role):
    def worked(kind, response):
        assert len(exported(response, kind)) == len(SEES[role])
        assert ModelLogEntry.objects.filter(action=log_actions.REGISTER_EXPORTED, user=world.users[role],
                                            data__format=kind).exists()

    kinds = ["csv", "xlsx"]
    walk(role, kinds, kinds if role in EXPORTS else NOBODY, lambda kind: client.get(ENTRIES, {"export": kind}),
         admin_refused, worked)


@action("export a large register list in the background, and download it", "admin")
def export_in_the_background(client, world, role):
    """Above EXPORT_INLINE_LIMIT the export is written by a task: the user lands on the Exports
    page and downloads the file there; it holds their scope, as the inline export does."""
    from django.conf import settings
    from django.test import TestCase, override_settings

    configured = settings.WAGTAIL_CORRESPONDENCE
    one_inline = {**configured, "REGISTER": {**configured.get("REGISTER", {}), "EXPORT_INLINE_LIMIT": 1}}

    def attempt(kind):
        with override_settings(WAGTAIL_CORRESPONDENCE=one_inline), TestCase.captureOnCommitCallbacks(execute=True):
            return client.get(ENTRIES, {"export": kind})

    def worked(kind, response):
        assert response.status_code == 302 and response["Location"] == REGISTER + "exports/", role
        export = RegisterExport.objects.get(requested_by=world.users[role], format=kind)
        assert export.status == "done" and export.rows_written == len(SEES[role]), (role, export.error)
        download = client.get(reverse("wagtail_correspondence_register:export_download", args=[export.pk]))
        assert sorted(exported(download, kind)) == sorted(world.entries[name].reference for name in SEES[role])

    kinds = ["csv", "xlsx"]
    walk(role, kinds, kinds if role in EXPORTS else NOBODY, attempt, admin_refused, worked)


# The register: notes and documents.

def noted(world, role, name, text):
    entry, user = world.entries[name], world.users[role]
    assert text in [note.text for note in Note.objects.filter(correspondence=entry, author=user)], (role, name)
    assert AttachmentVersion.objects.filter(attachment__correspondence=entry, uploaded_by=user,
                                            attachment__title=text).exists(), (role, name)


@action("add notes and documents to entries", "admin")
def notes_admin(client, world, role):
    text = f"Note by {role}"

    def attempt(name):
        url = f"{REGISTER}{world.entries[name].pk}/"
        return (client.post(url + "notes/", {"text": text}),
                client.post(url + "attachments/", {"file": SimpleUploadedFile("scan.pdf", PDF), "title": text}))

    def worked(name, note, upload):
        assert admin_saved(note) and admin_saved(upload)
        noted(world, role, name, text)

    walk(role, WRITE_TARGETS, WORKS[role], attempt, admin_scope_refused(SEES[role]), worked)


@action("add notes and documents to entries", "api")
def notes_api(client, world, role):
    text = f"Note by {role} through the API"

    def attempt(name):
        url = f"{API}correspondence/{world.entries[name].reference}/"
        return (send(client, "post", url + "notes/", {"text": text}),
                client.post(url + "attachments/", {"file": SimpleUploadedFile("scan.pdf", PDF), "title": text}))

    def worked(name, note, upload):
        assert note.status_code == 201 and upload.status_code == 201, (note.content, upload.content)
        noted(world, role, name, text)

    walk(role, WRITE_TARGETS, WORKS[role], attempt, api_refused(SEES[role]), worked)


# Routing rules, SLA policies, categories, business calendars (admin only).

CONFIG_PATHS = {"routing rules": "routing-rules", "SLA policies": "sla-policies", "categories": "categories",
                "calendars": "calendars"}
READS_CONFIG = {"officer", "supervisor", "auditor", "admin", "superuser"}
MANAGES_CONFIG = {"supervisor", "admin", "superuser"}


@action("read routing rules, SLA policies, categories, calendars", "admin")
def read_config_admin(client, world, role):
    shown = {"routing rules": world.config.rule.name, "SLA policies": world.config.sla.name,
             "categories": world.config.category.name, "calendars": world.config.calendar.name}

    def worked(kind, response):
        assert response.status_code == 200 and shown[kind] in response.content.decode(), (role, kind)

    walk(role, CONFIG_PATHS, CONFIG_PATHS if role in READS_CONFIG else NOBODY,
         lambda kind: client.get(f"{REGISTER}{CONFIG_PATHS[kind]}/"), admin_refused, worked)


@action("manage routing rules, SLA policies, categories, calendars", "admin")
def manage_config_admin(client, world, role):
    name = f"Made by {role}"
    forms = {
        "routing rules": {"name": name, "sort_order": 50, "is_active": "on", "direction": "inbound",
                          "keywords": "zzz", "department": world.departments["billing"].pk, "assignment": "none"},
        "SLA policies": {"name": name, "response_time": 5, "unit": "working_days", "reminder_percentages": "[50, 80]",
                         "escalation_interval_hours": 8, "is_active": "on"},
        "categories": {"name": name, "code": f"made-by-{role}", "is_active": "on", "parent": ""},
        "calendars": {"name": name, "working_days": ["0", "1", "2", "3", "4"], "day_start": "09:00",
                      "day_end": "17:00", "extra_closed_days": "[]"},
    }
    models = {"routing rules": RoutingRule, "SLA policies": SlaPolicy, "categories": Category,
              "calendars": BusinessCalendar}

    def worked(kind, response):
        assert admin_saved(response), (role, kind, response.status_code)
        assert models[kind].objects.filter(name=name).exists()

    walk(role, CONFIG_PATHS, CONFIG_PATHS if role in MANAGES_CONFIG else NOBODY,
         lambda kind: client.post(f"{REGISTER}{CONFIG_PATHS[kind]}/create/", forms[kind]), admin_refused, worked)


# Users and groups (admin only).

MANAGES_USERS = {"admin", "superuser"}
EMPTY_FORMSETS = {f"{prefix}-{name}": value
                  for prefix in ("page_permissions", "document_permissions", "image_permissions",
                                 "collection_permissions")
                  for name, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0), ("MIN_NUM_FORMS", 0),
                                      ("MAX_NUM_FORMS", 1000))}


@action("manage users and groups", "admin")
def manage_users_admin(client, world, role):
    def attempt(kind):
        if kind == "user":
            return client.post(reverse("wagtailusers_users:add"), {
                "username": f"new-{role}", "email": f"new-{role}@example.org", "first_name": "New",
                "last_name": "Colleague", "password1": "Unguessable-42-pass", "password2": "Unguessable-42-pass"})
        return client.post(reverse("wagtailusers_groups:add"), {"name": f"Group of {role}", **EMPTY_FORMSETS})

    def worked(kind, response):
        assert admin_saved(response), (role, kind, response.status_code)
        if kind == "user":
            assert get_user_model().objects.filter(username=f"new-{role}").exists()
        else:
            assert Group.objects.filter(name=f"Group of {role}").exists()

    kinds = ["user", "group"]
    walk(role, kinds, kinds if role in MANAGES_USERS else NOBODY, attempt, admin_refused, worked)


# Print runs: the print room sends every department's waiting letters.

SENDS_PRINT_RUNS = {"supervisor", "admin", "superuser"}


@action("send letters to print", "admin")
def print_run_admin(client, world, role):
    def attempt(target):
        return client.post(reverse("wagtail_correspondence_letters:print_runs"))

    def worked(target, response):
        run = PrintRun.objects.get()
        assert response.status_code == 302 and response["Location"] == reverse(
            "wagtail_correspondence_letters:print_run", args=[run.pk]), role
        assert run.created_by == world.users[role] and run.letter_count == len(world.letters)

    walk(role, ["waiting letters"], {"waiting letters"} if role in SENDS_PRINT_RUNS else set(), attempt,
         admin_refused, worked)


# What each row needs besides the departments and the users (the register entries by default).
NEEDS = {
    "edit content": ["library"], "add content": ["library"], "publish content": ["library"],
    "build, preview, save and generate letters": ["library"], "read letters and their PDFs": ["letters"],
    "read routing rules, SLA policies, categories, calendars": [],
    "manage routing rules, SLA policies, categories, calendars": [], "manage users and groups": [],
    LOOK_UP_SENDER: ["one_customer"],
    "send letters to print": ["letters"],
}
MATRIX_FINDINGS = {}


def cells():
    for name in ACTIONS:
        for role in ROLES:
            finding = MATRIX_FINDINGS.get((name, role))
            marks = [pytest.mark.xfail(strict=True, reason=finding)] if finding else []
            yield pytest.param(name, role, marks=marks, id=f"{name} | {role}")


@pytest.mark.parametrize("name, role", list(cells()))
def test_matrix_cell(request, client, world, name, role):
    """One cell of the matrix, through the admin and (where it has the surface) the API."""
    for fixture in NEEDS.get(name, ["entries"]):
        request.getfixturevalue(fixture)
    login(client, world, role)
    for walk_cell in ACTIONS[name].values():  # the admin, then the API
        walk_cell(client, world, role)


# Nothing leaks: lists, search, exports, counts, pages ---------------------------------

def listed_entries(response):
    """References of the rows of the admin's register list."""
    assert response.status_code == 200, response.status_code
    return set(re.findall(r'<tr[^>]*data-entry="([^"]+)"', response.content.decode()))


def api_references(response):
    assert response.status_code == 200, response.content[:300]
    return {item["reference"] for item in response.json()["results"]}


def walk_pages(client, url, expected_count, **params):
    """Every page of one item (``limit=1&offset=N``), and the page after the last."""
    found = []
    for offset in range(expected_count + 1):
        page = client.get(url, {**params, "limit": 1, "offset": offset}).json()
        assert page["count"] == expected_count
        found += [item["reference"] for item in page["results"]]
    assert len(found) == expected_count, found  # the last page is empty, no item twice
    return set(found)


def exported(response, kind):
    assert response.status_code == 200, response.status_code
    body = content(response)
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(body.decode())))
        assert rows[0][0] == "Reference Number"
        return [row[0] for row in rows[1:]]
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    return [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]


@pytest.mark.parametrize("role", ROLES)
def test_register_lists_searches_exports_and_pages_hold_exactly_the_scope(client, world, letters, role):
    references = {name: entry.reference for name, entry in world.entries.items()}
    visible = SEES_WITH_LETTERS[role]
    expected = {references[name] for name in visible}
    matters = {references[name] for name in visible & ALL_ENTRIES}  # inbound subjects say "matter"
    legal = {references[name] for name in visible if world.entries[name].department.code == "legal"}
    login(client, world, role)
    url = API + "correspondence/"
    if not visible:
        before = state()
        for params in ({}, {"q": "matter"}, {"export": "csv"}, {"export": "xlsx"}):
            assert admin_refused(client.get(ENTRIES, params)), params
        for params in ({}, {"q": "matter"}, {"limit": 1, "offset": 1}):
            assert client.get(url, params).status_code == 403
        assert state() == before
        return

    # The admin: list, search, filter.
    assert listed_entries(client.get(ENTRIES)) == expected
    assert listed_entries(client.get(ENTRIES, {"q": "matter"})) == matters
    assert listed_entries(client.get(ENTRIES, {"department": "legal"})) == legal
    # The API: list, count, search, filter, every page.
    listing = client.get(url)
    assert api_references(listing) == expected and listing.json()["count"] == len(expected)
    assert api_references(client.get(url, {"q": "matter"})) == matters
    assert client.get(url, {"q": "matter"}).json()["count"] == len(matters)
    assert api_references(client.get(url, {"department": "legal"})) == legal
    assert walk_pages(client, url, len(expected)) == expected
    assert walk_pages(client, url, len(matters), q="matter") == matters
    # Looking up an entry the user may not see by its reference finds nothing.
    for name in sorted(set(references) - visible):
        assert not listed_entries(client.get(ENTRIES, {"q": references[name]})), (role, name)
        assert not api_references(client.get(url, {"q": references[name]})), (role, name)
    # The exports: what the list holds, searched as the list is.
    for kind in ("csv", "xlsx"):
        if role not in EXPORTS:
            before = state()
            assert admin_refused(client.get(ENTRIES, {"export": kind}))
            assert state() == before
            continue
        assert sorted(exported(client.get(ENTRIES, {"export": kind}), kind)) == sorted(expected), kind
        assert sorted(exported(client.get(ENTRIES, {"export": kind, "q": "matter"}), kind)) == sorted(matters)


# Weekly inbound volume per department on the dashboard, as each role sees it.
VOLUMES_ALL = {"customer-service": 1, "complaints": 4, "escalations": 1, "billing": 1, "legal": 3}
VOLUMES = {
    "agent": {"complaints": 2, "escalations": 1, "legal": 1},
    "officer": {"complaints": 2, "escalations": 1, "legal": 1},
    "supervisor": VOLUMES_ALL, "auditor": VOLUMES_ALL, "admin": VOLUMES_ALL, "superuser": VOLUMES_ALL,
}


@pytest.mark.parametrize("role", ROLES)
def test_dashboard_counts_only_what_the_user_may_see(client, world, entries, role):
    references = {name: entry.reference for name, entry in world.entries.items()}
    login(client, world, role)
    page = client.get("/admin/").content.decode()
    volumes_url = reverse("wagtail_correspondence_register:dashboard_volumes")
    if role not in MY_WORK:
        assert "data-my-work" not in page and "correspondence-department-volumes" not in page
        assert not any(reference in page for reference in references.values())
        # Nor do the volumes' own request count anything for them.
        refused = client.get(volumes_url)
        assert refused.status_code in (302, 403) and "data-department=" not in refused.content.decode(), role
        return
    assigned, unassigned = MY_WORK[role]
    counts = dict(re.findall(r'data-count="([a-z-]+)">(\d+)<', page))
    assert counts == {"assigned": str(len(assigned)), "due-soon": "0", "overdue": "0",
                      "unassigned": str(unassigned)}, role
    # The rows of "My work" (the only rows of the dashboard that name an entry).
    assert set(re.findall(r'data-entry="([^"]+)"', page)) == {references[name] for name in assigned}
    # The volumes come in their own request (nothing is kept for the scope yet).
    assert f'data-volumes-load="{volumes_url}?' in page
    body = client.get(volumes_url).content.decode()
    volumes = dict(re.findall(r'data-department="([a-z-]+)">.*?<td>(\d+)</td>', body, re.S))
    assert {code: int(total) for code, total in volumes.items()} == VOLUMES[role]
    # No reference the user may not see appears anywhere on the page.
    for name, reference in references.items():
        assert reference not in page or name in SEES[role], (role, name)


def listed_letters(response):
    assert response.status_code == 200, response.status_code
    return {int(pk) for pk in re.findall(r'href="/admin/correspondence/letters/inspect/(\d+)/"',
                                         response.content.decode())}


@pytest.mark.parametrize("role", ROLES)
def test_letter_and_batch_lists_searches_and_pages_hold_exactly_the_scope(client, world, letters, batches, role):
    visible = READS_LETTERS[role]
    login(client, world, role)
    url = API + "letters/"
    if not visible:
        before = state()
        assert admin_refused(client.get(LETTERS)) and admin_refused(client.get(LETTERS + "batches/"))
        for path in ("letters/", "batches/", *(f"batches/{batch.uuid}/" for batch in batches.values())):
            assert client.get(API + path).status_code == 403, path
        assert client.get(url, {"q": "C-1001"}).status_code == 403
        assert state() == before
        return
    expected = {letters[name].reference for name in visible}
    assert listed_letters(client.get(LETTERS)) == {letters[name].pk for name in visible}
    listing = client.get(url)
    assert api_references(listing) == expected and listing.json()["count"] == len(expected)
    assert api_references(client.get(url, {"q": "C-1001"})) == expected
    assert client.get(url, {"q": "C-1001"}).json()["count"] == len(expected)
    assert walk_pages(client, url, len(expected)) == expected
    for name in sorted(set(letters) - visible):
        assert not api_references(client.get(url, {"q": letters[name].reference})), (role, name)

    # Batches: their creators, and those who see every department's letters.
    visible = BATCHES[role]
    page = client.get(LETTERS + "batches/")
    assert page.status_code == 200
    assert {int(pk) for pk in re.findall(r'href="/admin/correspondence/letters/batches/(\d+)/"',
                                         page.content.decode())} == {batches[name].pk for name in visible}
    assert {item["id"] for item in client.get(API + "batches/").json()} == {
        str(batches[name].uuid) for name in visible}
    for name, batch in batches.items():
        admin_page = client.get(f"{LETTERS}batches/{batch.pk}/")
        api_page = client.get(f"{API}batches/{batch.uuid}/")
        if name in visible:
            assert admin_page.status_code == 200 and api_page.status_code == 200
        else:
            assert admin_page.status_code == 404 or admin_refused(admin_page), (role, name)
            assert api_page.status_code == 404, (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_admin_letter_search_holds_exactly_the_scope(client, world, letters, role):
    visible = READS_LETTERS[role]
    login(client, world, role)
    if not visible:
        assert admin_refused(client.get(LETTERS, {"q": "C-1001"}))
        return
    assert listed_letters(client.get(LETTERS, {"q": "C-1001"})) == {letters[name].pk for name in visible}
    for name, letter in letters.items():
        found = listed_letters(client.get(LETTERS, {"q": letter.reference}))
        assert (letter.pk in found) is (name in visible), (role, name)


# A reply to a strictly confidential entry ---------------------------------------------

@pytest.mark.parametrize("role", ["agent", "officer"])
@pytest.mark.parametrize("where", ["letters", "register"])
def test_a_reply_to_a_strictly_confidential_entry_stays_hidden(client, world, entries, library, role, where):
    """The agent and the officer work in the department of the entry, without the clearance:
    neither the reply letter nor its outbound register entry is theirs to see."""
    reply = write_letter(world, "colleague", in_reply_to=world.entries["secret"])
    outbound = Correspondence.objects.get(letter=reply)
    login(client, world, role)
    if where == "letters":
        assert reply.pk not in listed_letters(client.get(LETTERS))
        assert reply.reference not in api_references(client.get(API + "letters/"))
        assert client.get(f"{API}letters/{reply.reference}/").status_code == 404
    else:
        assert outbound.reference not in listed_entries(client.get(ENTRIES))
        assert outbound.reference not in api_references(client.get(API + "correspondence/"))
        assert client.get(f"{API}correspondence/{outbound.reference}/").status_code == 404


# Auditors read everything and change nothing ------------------------------------------

WRITE_METHODS = ("post", "put", "patch", "delete")


def _schema_operations():
    """The operations of the OpenAPI schema, as /api/correspondence/v1/schema/ serves it
    (``test_the_schema_walked_is_the_one_served`` keeps the two the same)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(api_version="1").get_schema(request=None, public=True)
    return {path: sorted(method for method in operations if method in WRITE_METHODS + ("get",))
            for path, operations in schema["paths"].items()}


SCHEMA = _schema_operations()
# A POST that reads: it checks a payload against a data dictionary and saves nothing.
READ_ONLY_POSTS = {("/api/correspondence/v1/data-dictionaries/{id}/validate/", "post"),
                   # checking a PDF someone holds reads and keeps nothing: auditors may
                   ("/api/correspondence/v1/letters/verify-pdf/", "post")}
# Paths whose {key} is a letter: tried with a draft and with a generated letter.
LETTER_KEY = "/letters/{key}/"
AUDITOR_FINDINGS = {}  # (path, method, variant) -> a finding, as an expected failure


def schema_writes():
    for path, methods in sorted(SCHEMA.items()):
        for method in methods:
            if method == "get":
                continue
            for variant in (("draft", "generated") if LETTER_KEY in path else ("",)):
                marks = []
                if (path, method, variant) in AUDITOR_FINDINGS:
                    marks.append(pytest.mark.xfail(strict=True, reason=AUDITOR_FINDINGS[(path, method, variant)]))
                yield pytest.param(path, method, variant, marks=marks,
                                   id=f"{method.upper()} {path.replace('/api/correspondence/v1', '')} {variant}".strip())


@pytest.fixture
def audited(world, library):
    """One object of each kind the schema's paths name, for the auditor to try to change: a
    register entry, a generated letter, a draft, a batch, and the content library."""
    users = world.users
    objects = SimpleNamespace(
        entry=register_service.register_entry(users["registrar"], subject="Audited matter", kind="letter",
                                              channel="post", department=world.departments["complaints"]),
        letter=write_letter(world, "colleague"),
        draft=letter_service.save_draft(users["agent"], letter_service.LetterRequest(
            template=library.template, customer_id="C-1001", channel="print")),
        batch=batch_service.create_batch(users["agent"], library.template,
                                         SimpleUploadedFile("rows.csv", b"customer_id\nC-1001\n")))
    objects.ids = {"batches": str(objects.batch.uuid), "data-dictionaries": library.dictionary.pk,
                   "departments": world.departments["legal"].pk, "layouts": library.layout.pk,
                   "templates": library.template.pk, "customers": "C-1001", "pages": library.template.pk,
                   "fragments": library.fragment.key, "documents": 1, "images": 1}
    return objects


def fill(path, objects, variant):
    """The path with its placeholders filled: {key} is a draft's id or a generated letter's
    reference (``variant``), {id} an object of the path's collection."""
    collection = path.rstrip("/").split("/{")[0].rsplit("/", 1)[-1]
    key = objects.draft.uuid if variant == "draft" else objects.letter.reference
    return path.format(reference=objects.entry.reference, key=objects.ids.get(collection, key),
                       id=objects.ids.get(collection, 1), action_name="publish")


def write_request(client, world, path, method, url):
    """A request that would succeed for someone allowed to make it."""
    template = world.library.template.pk
    letter = {"template": template, "customer_id": "C-1001", "channel": "print"}
    bodies = {
        "/correspondence/": {"subject": "Audited"}, "/correspondence/{reference}/": {"subject": "Audited"},
        "/transition/": {"action": "close", "reason": "Audit"}, "/assign/": {"department": "legal"},
        "/notes/": {"text": "Audited"}, "/letters/": letter, "/letters/preview/": letter,
        "/letters/{key}/": {"channel": "print"}, "/validate/": {"data": factories.SAMPLE_DATA},
    }
    if method == "post" and path.endswith("/verify-pdf/"):
        return client.post(url, {"file": SimpleUploadedFile("copy.pdf", PDF)})
    if method == "post" and path.endswith("/attachments/"):
        return client.post(url, {"file": SimpleUploadedFile("audit.pdf", PDF)})
    if method == "post" and path.endswith("/batches/"):
        return client.post(url, {"template": template, "file": SimpleUploadedFile("rows.csv", b"customer_id\nC-1\n")})
    if method == "post" and path.endswith("/sns/"):
        return client.post(url, data="{}", content_type="text/plain")
    body = next((body for suffix, body in bodies.items() if path.endswith(suffix)), {})
    return send(client, method, url, body)


@pytest.mark.parametrize("path, method, variant", list(schema_writes()))
def test_auditors_cannot_write_through_any_endpoint(client, world, audited, path, method, variant):
    login(client, world, "auditor")
    url = fill(path, audited, variant)
    before = state()
    response = write_request(client, world, path, method, url)
    if (path, method) in READ_ONLY_POSTS:
        assert response.status_code == 200, response.content[:300]
    elif path.startswith(API):
        assert response.status_code == 403, (method, url, response.status_code, response.content[:300])
    else:  # Wagtail's admin API: pages the auditor may not explore do not exist for them
        assert response.status_code in (403, 404), (method, url, response.status_code, response.content[:300])
    assert state() == before


def test_auditors_get_no_write_method_the_schema_does_not_list(client, world, audited):
    login(client, world, "auditor")
    before = state()
    tried = 0
    for path, methods in SCHEMA.items():
        for method in sorted(set(WRITE_METHODS) - set(methods)):
            for variant in (("draft", "generated") if LETTER_KEY in path else ("",)):
                url = fill(path, audited, variant)
                response = write_request(client, world, path, method, url)
                assert response.status_code in (403, 404, 405), (method, url, response.status_code)
                tried += 1
    assert state() == before
    assert tried > 100


def test_the_schema_walked_is_the_one_served(client, world):
    login(client, world, "auditor")
    response = client.get(API + "schema/")
    assert response.status_code == 200
    served = yaml.safe_load(response.content)["paths"]
    assert {path: sorted(method for method in operations if method in WRITE_METHODS + ("get",))
            for path, operations in served.items()} == SCHEMA
    assert sum(len([m for m in methods if m != "get"]) for methods in SCHEMA.values()) >= 15
