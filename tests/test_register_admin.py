"""The register in the admin: registering incoming mail with a scan, scope of lists and
pages, actions, versioned documents, history with restore, exports and dashboard panels;
and the register's links with letters (outbound entries, replies) and the portal."""

import copy
import csv
import hashlib
import io
import re

import openpyxl
import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from reversion.models import Version
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import (
    Attachment,
    Correspondence,
    Department,
    Direction,
    RoutingRule,
    Status,
)
from wagtail_correspondence.services import letters as letter_service
from wagtail_correspondence.services import register as service

from . import factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
ENTRIES = "/admin/correspondence/register/entries/"


@pytest.fixture
def departments(db):
    service_desk = Department.add_root(instance=Department(name="Customer Service", code="customer-service"))
    complaints = service_desk.add_child(instance=Department(name="Complaints", code="complaints"))
    billing = service_desk.add_child(instance=Department(name="Billing", code="billing"))
    legal = Department.add_root(instance=Department(name="Legal", code="legal"))
    return {"customer-service": Department.objects.get(pk=service_desk.pk), "complaints": complaints,
            "billing": billing, "legal": legal}


@pytest.fixture
def officer(make_user, departments):
    user = make_user("officer", roles.OFFICERS, first_name="Olga")
    departments["complaints"].members.add(user)
    return user


@pytest.fixture
def supervisor(make_user, departments):
    user = make_user("supervisor", roles.SUPERVISORS)
    departments["customer-service"].members.add(user)
    return user


@pytest.fixture
def complaints_rule(departments, officer):
    return RoutingRule.objects.create(name="Complaints", keywords="complaint", department=departments["complaints"],
                                      assignment="round_robin")


def register(user, **fields):
    values = {"subject": "A question", "kind": "letter", "channel": "post"}
    values.update(fields)
    return service.register_entry(user, **values)


def entry_page(client, entry):
    return client.get(f"{ENTRIES}inspect/{entry.pk}/")


def refused(response):
    """Wagtail's admin answers a refusal with a redirect to the dashboard and a message."""
    return response.status_code == 403 or (response.status_code == 302 and response["Location"] == "/admin/")


def not_found(response):
    """An entry outside the user's scope does not exist for them."""
    return response.status_code == 404


def test_register_incoming_mail_with_a_scan_routes_and_stores_it(client, officer, complaints_rule):
    client.force_login(officer)
    assert client.get(f"{ENTRIES}create/").status_code == 200
    response = client.post(f"{ENTRIES}create/", {
        "direction": "inbound", "kind": "complaint", "channel": "post", "subject": "Complaint about a late refund",
        "body": "Scanned letter", "sender_name": "Zoë Müller", "priority": "normal", "confidentiality": "internal",
        "recipients": "", "tags": "refund, paper", "scan": SimpleUploadedFile("scan.pdf", PDF, "image/png")})
    entry = Correspondence.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/inspect/{entry.pk}/")
    assert re.fullmatch(r"IN-\d{4}-000001", entry.reference)
    assert entry.department.code == "complaints" and entry.assignee == officer and entry.status == Status.ASSIGNED
    assert entry.routing_rule == complaints_rule and entry.routing_decision["matched"] == ["keyword=complaint"]
    assert sorted(entry.tags.names()) == ["paper", "refund"] and entry.due_at is not None
    version = entry.attachments.get().latest
    # The browser said PNG; the content is a PDF, and the content decides.
    assert version.content_type == "application/pdf" and version.size == len(PDF)
    assert version.sha256 == hashlib.sha256(PDF).hexdigest() and version.uploaded_by == officer

    page = entry_page(client, entry).content.decode()
    assert entry.reference in page and "Complaints" in page and "scan.pdf" in page
    # Looking at an entry that holds personal data is recorded, with who looked.
    viewed = ModelLogEntry.objects.filter(object_id=str(entry.pk), action=log_actions.REGISTER_VIEWED)
    assert viewed.count() == 1 and viewed.get().user == officer
    download = client.get(f"/admin/correspondence/register/{entry.pk}/attachments/{version.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["X-Content-SHA256"] == version.sha256
    assert ModelLogEntry.objects.filter(object_id=str(entry.pk),
                                        action=log_actions.REGISTER_ATTACHMENT_DOWNLOADED).count() == 1


@pytest.mark.parametrize("scan, message", [
    (SimpleUploadedFile("letter.pdf", b"MZ\x90\x00 a Windows program"), "not accepted"),
    (SimpleUploadedFile("empty.pdf", b""), "empty"),
])
def test_a_bad_scan_is_refused_on_its_field_and_nothing_is_saved(client, officer, scan, message):
    client.force_login(officer)
    response = client.post(f"{ENTRIES}create/", {
        "direction": "inbound", "kind": "letter", "channel": "post", "subject": "Hello", "priority": "normal",
        "confidentiality": "internal", "scan": scan})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["scan"])
    assert not Correspondence.objects.exists() and not Attachment.objects.exists()


def test_a_missing_subject_is_named(client, officer):
    client.force_login(officer)
    response = client.post(f"{ENTRIES}create/", {"direction": "inbound", "kind": "letter", "channel": "post",
                                                 "priority": "normal", "confidentiality": "internal"})
    assert response.status_code == 400 and "subject" in response.context["form"].errors
    assert not Correspondence.objects.exists()


def test_lists_and_pages_keep_to_the_users_departments(client, officer, supervisor, make_user, departments):
    mine = register(officer, subject="Complaint mine", department=departments["complaints"])
    billing = register(supervisor, subject="Billing question", department=departments["billing"])
    legal = register(supervisor, subject="Subpoena received", department=departments["legal"])
    client.force_login(officer)
    listing = client.get(ENTRIES).content.decode()
    assert mine.reference in listing and billing.reference not in listing and legal.reference not in listing
    assert not_found(entry_page(client, billing))
    assert not ModelLogEntry.objects.filter(object_id=str(billing.pk), action=log_actions.REGISTER_VIEWED).exists()
    # Search cannot find what the list hides.
    assert billing.reference not in client.get(ENTRIES, {"q": "Billing"}).content.decode()
    assert not_found(client.post(f"/admin/correspondence/register/{billing.pk}/notes/", {"text": "x"}))
    assert not billing.notes.exists()

    client.force_login(supervisor)  # customer-service: its subtree (complaints, billing), not legal
    listing = client.get(ENTRIES).content.decode()
    assert mine.reference in listing and billing.reference in listing
    # The supervisor has view_all: legal too.
    assert legal.reference in listing
    agent = make_user("agent-b", roles.AGENTS)
    departments["billing"].members.add(agent)
    client.force_login(agent)
    listing = client.get(ENTRIES).content.decode()
    assert billing.reference in listing and mine.reference not in listing


def test_strictly_confidential_entries_need_a_clearance(client, officer, make_user, departments):
    secret = register(officer, subject="Whistleblower", department=departments["complaints"], confidentiality="secret")
    colleague = make_user("colleague", roles.OFFICERS)
    departments["complaints"].members.add(colleague)
    client.force_login(colleague)
    assert secret.reference not in client.get(ENTRIES).content.decode()
    assert not_found(entry_page(client, secret))
    client.force_login(officer)  # registered it
    assert entry_page(client, secret).status_code == 200


def test_the_entry_page_loads_the_script_its_date_picker_calls(client, officer, departments):
    """The assign form's deadline widget calls initDateTimeChooser() from the page: without its
    script the page raised "initDateTimeChooser is not defined" and the picker never opened."""
    entry = register(officer, subject="Deadline", department=departments["complaints"])
    client.force_login(officer)
    page = entry_page(client, entry).content.decode()
    assert "initDateTimeChooser(" in page
    script = page.index("wagtailadmin/js/date-time-chooser.js")
    assert script < page.index("initDateTimeChooser(")


def test_actions_move_the_entry_and_refuse_what_the_machine_forbids(client, officer, complaints_rule):
    entry = register(officer, subject="complaint about delays")
    client.force_login(officer)
    base = f"/admin/correspondence/register/{entry.pk}/"
    client.post(base + "transition/", {"action": "start"})
    entry.refresh_from_db()
    assert entry.status == Status.IN_PROGRESS
    response = client.post(base + "transition/", {"action": "reopen"}, follow=True)
    entry.refresh_from_db()
    assert entry.status == Status.IN_PROGRESS
    assert "Only a closed entry can be reopened" in response.content.decode()
    response = client.post(base + "transition/", {"action": "close"}, follow=True)
    entry.refresh_from_db()
    assert entry.status == Status.IN_PROGRESS and "Say why" in response.content.decode()
    client.post(base + "transition/", {"action": "close", "reason": "Duplicate of another entry"})
    entry.refresh_from_db()
    assert entry.status == Status.CLOSED and entry.closed_at is not None
    comments = [version.revision.get_comment() for version in Version.objects.get_for_object(entry)]
    assert any("Duplicate of another entry" in comment for comment in comments)


def test_a_new_document_version_keeps_the_earlier_ones(client, officer, departments):
    entry = register(officer, department=departments["complaints"])
    client.force_login(officer)
    base = f"/admin/correspondence/register/{entry.pk}/attachments/"
    client.post(base, {"file": SimpleUploadedFile("contract.pdf", PDF), "title": "Contract"})
    attachment = entry.attachments.get()
    client.post(base, {"file": SimpleUploadedFile("contract-signed.png", PNG), "attachment": attachment.pk,
                       "comment": "signed copy"})
    versions = list(attachment.versions.order_by("number"))
    assert [version.number for version in versions] == [1, 2]
    assert versions[0].file.read() == PDF and versions[1].content_type == "image/png"
    assert attachment.latest == versions[1] and versions[1].comment == "signed copy"
    page = entry_page(client, entry).content.decode()
    assert "contract.pdf" in page and "contract-signed.png" in page and "signed copy" in page
    response = client.post(base, {"file": SimpleUploadedFile("run.exe", b"MZ\x90\x00"), "attachment": attachment.pk},
                           follow=True)
    assert "not accepted" in response.content.decode() and attachment.versions.count() == 2


def test_history_shows_the_diff_and_restore_is_for_those_allowed(client, officer, supervisor, departments):
    entry = register(officer, subject="Original subject", department=departments["complaints"])
    service.update_entry(officer, entry, {"subject": "Changed subject", "priority": "high"}, tags=["vip"])
    client.force_login(officer)
    page = entry_page(client, entry).content.decode()
    assert "Original subject" in page and "Changed subject" in page and "data-restore" not in page

    client.force_login(supervisor)
    page = entry_page(client, entry).content.decode()
    assert "data-restore" in page
    first = Version.objects.get_for_object(entry).order_by("revision__date_created", "pk").first()
    client.post(f"/admin/correspondence/register/{entry.pk}/restore/", {"version": first.pk})
    entry.refresh_from_db()
    assert entry.subject == "Original subject" and entry.priority == "normal" and list(entry.tags.names()) == []
    latest = Version.objects.get_for_object(entry).order_by("-revision__date_created", "-pk").first()
    assert latest.revision.user == supervisor and "Restored the values of version 1" in latest.revision.get_comment()
    # Officers have no restore permission: refused even when posted directly.
    client.force_login(officer)
    response = client.post(f"/admin/correspondence/register/{entry.pk}/restore/", {"version": first.pk})
    assert refused(response)


def test_export_needs_the_permission_and_holds_only_visible_entries(client, officer, supervisor, departments):
    inside = register(supervisor, subject="Billing question", department=departments["billing"])
    register(officer, subject="Complaint", department=departments["complaints"])
    client.force_login(officer)
    assert refused(client.get(ENTRIES, {"export": "csv"}))

    client.force_login(supervisor)
    response = client.get(ENTRIES, {"export": "csv", "department": "billing"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "Reference Number" and [row[0] for row in rows[1:]] == [inside.reference]
    response = client.get(ENTRIES, {"export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row == 3
    assert ModelLogEntry.objects.filter(action=log_actions.REGISTER_EXPORTED, user=supervisor).count() == 2


def test_filters_overdue_and_department_subtree(client, supervisor, departments):
    from django.utils import timezone

    late = register(supervisor, subject="Late one", department=departments["complaints"])
    Correspondence.objects.filter(pk=late.pk).update(due_at=timezone.now() - timezone.timedelta(days=2))
    on_time = register(supervisor, subject="On time", department=departments["billing"])
    other = register(supervisor, subject="Legal one", department=departments["legal"])
    client.force_login(supervisor)
    listing = client.get(ENTRIES, {"deadline": "overdue"}).content.decode()
    assert late.reference in listing and on_time.reference not in listing
    listing = client.get(ENTRIES, {"department": "customer-service"}).content.decode()
    assert late.reference in listing and on_time.reference in listing and other.reference not in listing


def test_dashboard_panels_count_my_work(client, officer, departments):
    from django.utils import timezone

    entry = register(officer, subject="Mine", department=departments["complaints"], assignee=officer)
    Correspondence.objects.filter(pk=entry.pk).update(due_at=timezone.now() - timezone.timedelta(hours=1))
    register(officer, subject="Mine too", department=departments["complaints"], assignee=officer)
    soon = register(officer, subject="Due soon", department=departments["complaints"], assignee=officer)
    paused = register(officer, subject="Due soon, paused", department=departments["complaints"], assignee=officer)
    Correspondence.objects.filter(pk__in=[soon.pk, paused.pk]).update(due_at=timezone.now() + timezone.timedelta(hours=2))
    Correspondence.objects.filter(pk=paused.pk).update(sla_paused_at=timezone.now())
    from wagtail_correspondence.services import sla

    sla.sweep()  # the overdue entry: an alert to its assignee, shown on the dashboard too
    client.force_login(officer)
    page = client.get("/admin/").content.decode()
    assert re.search(r'data-count="assigned">4<', page) and re.search(r'data-count="overdue">1<', page)
    assert re.search(r'data-count="due-soon">1<', page)
    from .test_register_screens import look_at_dashboard

    assert 'data-department="complaints"' in look_at_dashboard(client)[0]  # the volumes, counted in their request
    notices = re.search(r"data-my-notices>(.*?)</ul>", page, re.S).group(1)
    assert entry.reference in notices and "Overdue" in notices


def test_my_notices_name_me_exactly_and_only_for_entries_i_see(client, officer, supervisor, departments):
    from wagtail_correspondence.models import SlaNotice, SlaNoticeKind

    mine = register(supervisor, subject="Mine", department=departments["complaints"])
    hidden = register(supervisor, subject="Not for me", department=departments["legal"])
    lookalike = register(supervisor, subject="Look-alike", department=departments["complaints"])
    address = officer.email
    for entry, recipients in ((mine, [address.upper()]), (hidden, [address]), (lookalike, ["jo" + address])):
        SlaNotice.objects.create(correspondence=entry, kind=SlaNoticeKind.OVERDUE, level=0, cycle=0,
                                 recipients=recipients, due_at=entry.registered_at)
    client.force_login(officer)
    notices = re.search(r"data-my-notices>(.*?)</ul>", client.get("/admin/").content.decode(), re.S).group(1)
    assert mine.reference in notices
    assert hidden.reference not in notices and lookalike.reference not in notices


def test_my_work_counts_stop_at_their_limit(client, officer, departments, monkeypatch):
    from wagtail_correspondence.views.register import dashboard

    monkeypatch.setattr(dashboard, "COUNTED_UP_TO", 2)
    for number in range(3):
        register(officer, subject=f"Mine {number}", department=departments["complaints"], assignee=officer)
    client.force_login(officer)
    page = client.get("/admin/").content.decode()
    assert re.search(r'data-count="assigned">2\+<', page)  # three, counted up to two
    assert re.search(r'data-count="overdue">0<', page)
    Correspondence.objects.filter(assignee=officer).first().delete()
    page = client.get("/admin/").content.decode()
    assert re.search(r'data-count="assigned">2<', page)


def test_my_notices_are_kept_until_a_newer_notice_and_checked_against_my_scope(
        client, officer, supervisor, departments):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from wagtail_correspondence.models import SlaNotice, SlaNoticeKind

    first = register(supervisor, subject="First", department=departments["complaints"])
    second = register(supervisor, subject="Second", department=departments["complaints"])

    def notify(entry):
        SlaNotice.objects.create(correspondence=entry, kind=SlaNoticeKind.OVERDUE, level=0, cycle=0,
                                 recipients=[officer.email], due_at=entry.registered_at)

    def shown():
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/admin/").content.decode()
        found = re.search(r"data-my-notices>(.*?)</ul>", page, re.S)
        # The search for notices naming the address: a match on the recipients.
        searched = any(re.search(r'"recipients"\S*\s*(LIKE|@>)', query["sql"], re.I)
                       for query in captured.captured_queries)
        return (found.group(1) if found else ""), searched

    notify(first)
    client.force_login(officer)
    notices, searched = shown()
    assert first.reference in notices and searched
    notices, searched = shown()
    assert first.reference in notices and not searched  # kept: no newer notice
    notify(second)
    notices, searched = shown()
    assert first.reference in notices and second.reference in notices and searched  # a newer one: sought again
    # The entry moves to a department the officer does not work in: its notice goes at once.
    Correspondence.objects.filter(pk=first.pk).update(department=departments["legal"])
    notices, searched = shown()
    assert first.reference not in notices and second.reference in notices and not searched


# The register and the letters --------------------------------------------------------

@pytest.fixture
def reply_template(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="greeting")
    return factories.letter_template(customer_dictionary, standard_layout, [fragment], channels=["print", "portal"])


@pytest.mark.usefixtures("one_customer")
def test_a_letter_in_reply_answers_the_entry_and_joins_its_thread(officer, departments, reply_template,
                                                                  django_capture_on_commit_callbacks):
    entry = register(officer, subject="Where is my refund?", department=departments["complaints"],
                     assignee=officer, customer_id="C-1001")
    with django_capture_on_commit_callbacks(execute=True):
        letter = letter_service.generate_letter(officer, letter_service.LetterRequest(
            template=reply_template, customer_id="C-1001", channel="print",
            in_reply_to=entry))
    outbound = Correspondence.objects.get(letter=letter)
    assert outbound.reference == letter.reference and outbound.direction == Direction.OUTBOUND
    assert outbound.in_reply_to == entry and outbound.thread_root == entry and outbound.status == Status.CLOSED
    assert outbound.department == departments["complaints"] and outbound.customer_id == "C-1001"
    assert outbound.delivery_status == "queued"  # the print room has not printed it yet
    entry.refresh_from_db()
    assert entry.status == Status.RESPONDED and entry.responded_at is not None
    assert [item.reference for item in entry.thread()] == [entry.reference, outbound.reference]


@pytest.mark.usefixtures("one_customer")
def test_portal_replies_become_inbound_entries_in_the_letters_thread(client, officer, departments, reply_template,
                                                                     django_capture_on_commit_callbacks):
    entry = register(officer, subject="Question", department=departments["complaints"], assignee=officer,
                     customer_id="C-1001")
    service.transition(officer, entry, "start")
    with django_capture_on_commit_callbacks(execute=True):
        letter = letter_service.generate_letter(officer, letter_service.LetterRequest(
            template=reply_template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="portal", in_reply_to=entry))
    outbound = Correspondence.objects.get(letter=letter)
    service.transition(officer, entry, "start")  # responded, but the letter asked for documents
    service.transition(officer, entry, "await_customer")
    link = re.search(r"http://testserver(/portal/letters/[^/\s]+/)", mail.outbox[0].body).group(1)
    client.get(link)
    outbound.refresh_from_db()
    assert outbound.delivery_status == "delivered"  # opened in the portal

    client.post(link, {"action": "reply", "text": "Here is the receipt.",
                       "attachment": SimpleUploadedFile("receipt.pdf", PDF)})
    reply = Correspondence.objects.get(direction=Direction.INBOUND, portal_response__isnull=False)
    assert reply.in_reply_to == outbound and reply.thread_root == entry and reply.channel == "portal"
    assert reply.body == "Here is the receipt." and reply.customer_id == "C-1001"
    assert reply.department == departments["complaints"] and reply.assignee == officer  # stays with the thread
    assert reply.attachments.get().latest.sha256 == hashlib.sha256(PDF).hexdigest()
    entry.refresh_from_db()
    assert entry.status == Status.IN_PROGRESS  # the customer answered: the clock runs again
    assert entry.sla_paused_at is None


def test_routing_rules_edited_in_the_admin_keep_their_versions(client, supervisor, departments):
    client.force_login(supervisor)
    url = "/admin/correspondence/register/routing-rules/create/"
    assert client.get(url).status_code == 200
    response = client.post(url, {
        "name": "Refunds", "sort_order": 10, "is_active": "on", "direction": "inbound", "kinds": ["complaint"],
        "channels": ["email", "post"], "keywords": "refund", "senders": "", "customer_condition": "customer.vip",
        "department": departments["billing"].pk, "assignment": "none", "priority": "high"})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    rule = RoutingRule.objects.get()
    assert rule.kinds == ["complaint"] and rule.channels == ["email", "post"]
    response = client.post(f"/admin/correspondence/register/routing-rules/edit/{rule.pk}/", {
        "name": "Refunds and repayments", "sort_order": 10, "is_active": "on", "direction": "inbound",
        "kinds": ["complaint"], "keywords": "refund, repayment", "department": departments["billing"].pk,
        "assignment": "none", "priority": "high", "customer_condition": "customer.vip"})
    assert response.status_code == 302
    versions = Version.objects.get_for_object(rule).order_by("pk")
    assert [version.field_dict["name"] for version in versions] == ["Refunds", "Refunds and repayments"]
    assert all(version.revision.user == supervisor for version in versions)
    # A condition the sandbox cannot parse is refused on its field.
    response = client.post(f"/admin/correspondence/register/routing-rules/edit/{rule.pk}/", {
        "name": "Broken", "sort_order": 10, "direction": "inbound", "department": departments["billing"].pk,
        "assignment": "none", "customer_condition": "customer.vip ==="})
    assert response.status_code == 200 and "customer_condition" in response.context["form"].errors
    assert RoutingRule.objects.get().name == "Refunds and repayments"


def test_officers_may_read_rules_but_not_change_them(client, officer, departments):
    rule = RoutingRule.objects.create(name="Refunds", keywords="refund", department=departments["billing"])
    client.force_login(officer)
    assert client.get("/admin/correspondence/register/routing-rules/").status_code == 200
    assert refused(client.post(f"/admin/correspondence/register/routing-rules/edit/{rule.pk}/", {
        "name": "Hijacked", "sort_order": 1, "direction": "inbound", "department": departments["legal"].pk,
        "assignment": "none"}))
    assert RoutingRule.objects.get().name == "Refunds"


def test_received_between_two_dates(client, supervisor, departments):
    import datetime

    from django.utils import timezone

    def received(day):
        return timezone.make_aware(datetime.datetime(2026, 3, day, 10, 0))

    early = register(supervisor, subject="Early", department=departments["billing"], received_at=received(2))
    middle = register(supervisor, subject="Middle", department=departments["billing"], received_at=received(10))
    late = register(supervisor, subject="Late", department=departments["billing"], received_at=received(20))
    client.force_login(supervisor)
    page = client.get(ENTRIES, {"received_at_from": "2026-03-05", "received_at_to": "2026-03-10",
                                "direction__exact": "inbound"}).content.decode()
    assert middle.reference in page and early.reference not in page and late.reference not in page
    assert 'name="received_at_from" value="2026-03-05"' in page and 'name="direction__exact" value="inbound"' in page
    page = client.get(ENTRIES, {"received_at_from": "5 March"}).content.decode()
    assert "is not a date" in page and early.reference in page  # a bad date is named, not a 500


def test_list_rows_are_the_ones_modeladmin_renders(client, officer, supervisor, departments):
    """The register list makes its rows in Python (RegisterIndexView.result_rows) instead of
    modeladmin's result_list tag: cell by cell, the same HTML (classes, links, buttons,
    escaped text), for entries with and without a department, assignee, deadline or priority."""
    from bs4 import BeautifulSoup
    from django.template import Context, Template

    from wagtail_correspondence.modeladmin import CorrespondenceAdmin, RegisterIndexView

    register(officer, department=departments["complaints"], subject='<b>Bold</b> & "quoted"', priority="urgent",
             sender_name="Ann <script>")
    register(officer, department=departments["complaints"], assignee=officer, subject="Assigned")
    overdue = register(officer, department=departments["complaints"], subject="Overdue")
    Correspondence.objects.filter(pk=overdue.pk).update(due_at="2020-01-01T10:00:00Z")
    register(supervisor, subject="Nobody's", direction="internal")

    for user in (officer, supervisor):
        client.force_login(user)
        response = client.get(ENTRIES)
        view = response.context["view"]
        assert isinstance(view, RegisterIndexView) and isinstance(view.model_admin, CorrespondenceAdmin)
        values = {key: response.context[key] for key in ("view", "object_list", "request")}
        theirs = Template("{% load modeladmin_tags %}{% result_list %}").render(Context(values))

        def rows(html):
            soup = BeautifulSoup(html, "html.parser")
            return [(sorted(row.get("class", [])), {key: value for key, value in row.attrs.items() if key != "class"},
                     [(sorted(cell.get("class", [])), re.sub(r">\s+<", "><", " ".join(cell.decode_contents().split())))
                      for cell in row.find_all("td")]) for row in soup.select("tbody tr")]

        ours = rows(response.content.decode())
        assert ours == rows(theirs) and len(ours) == (3 if user == officer else 4)
        # Each row's buttons lead to its own entry (their words are made once per list).
        soup = BeautifulSoup(response.content.decode(), "html.parser")
        for row in soup.select("tbody tr"):
            links = {link["href"] for link in row.select("ul.actions a")}
            assert links and all(f"/{row['data-object-pk']}/" in link for link in links), links
        assert "&lt;b&gt;Bold&lt;/b&gt;" in response.content.decode() and "<script>" not in str(ours)


def test_list_filters_are_the_ones_their_template_renders(client, officer, supervisor, departments):
    """The select filters write their HTML in Python (SelectFilter.as_html) instead of
    rendering select_filter.html per option: for every filter and with filters chosen, the
    same elements, attributes and words as the template (through modeladmin's own tag)."""
    from bs4 import BeautifulSoup
    from django.utils import translation

    from wagtail_correspondence.modeladmin import SelectFilter
    from wagtail_modeladmin.templatetags.modeladmin_tags import admin_list_filter

    register(officer, department=departments["complaints"], assignee=officer, subject="Assigned")
    departments["billing"].name = 'Billing & "Refunds" <b>'
    departments["billing"].save()

    def shape(html):
        soup = BeautifulSoup(html, "html.parser")
        return [(tag.name, sorted(tag.attrs.items(), key=str), " ".join(tag.get_text(" ").split()))
                for tag in soup.find_all(True)]

    queries = [{}, {"department": "billing", "status__exact": "registered", "assignee": "me"},
               {"department": "complaints", "department_only": "1", "deadline": "overdue", "q": "a&b"}]
    for user in (officer, supervisor):
        client.force_login(user)
        for query in queries:
            for language in ("en", "nl"):
                with translation.override(language):
                    response = client.get(ENTRIES, query)
                    view = response.context["view"]
                    specs = [spec for spec in view.filter_specs if isinstance(spec, SelectFilter)]
                    assert len(specs) == len(view.filter_specs) - 2 >= 8  # all but the two date ranges
                    for spec in specs:
                        ours, theirs = spec.as_html(view), admin_list_filter(view, spec)
                        assert shape(ours) == shape(theirs), spec.title
                        assert str(ours) in response.content.decode()
    page = client.get(ENTRIES, {"department": "billing"}).content.decode()
    assert 'Billing &amp; &quot;Refunds&quot; &lt;b&gt;' in page and "<b>" not in page.split("cc-filter")[1]
