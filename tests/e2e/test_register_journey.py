"""An officer registers a paper complaint with its scan; a routing rule sends it to the
Complaints team and its round-robin gives it to the officer, who starts work, answers with a
letter from the builder (which marks the entry responded and files the letter as the outbound
entry of the same conversation) and closes the entry."""

import hashlib
import re

import pytest
from django.utils import timezone
from reversion.models import Version
from wagtail.models import ModelLogEntry

from tests import factories
from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import (
    Assignment,
    Correspondence,
    Department,
    Direction,
    Letter,
    RoutingRule,
    Source,
    Status,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("one_customer")]

CUSTOMER_ID = factories.SAMPLE_DATA["customer"]["id"]  # C-1001, Ada Peeters
SUBJECT = "Formal complaint about the handling of claim 2026-CL-118"
BODY = "Paper letter: the customer complains that nobody answered her calls about the claim for three weeks."
SCAN_NAME = "complaint-scan.pdf"
ANSWER = "We are sorry for the silence: your claim has been handled and the payment leaves this week."
TEMPLATE_SLUG = "complaint-answer"
INBOUND = re.compile(r"^IN-(\d{4})-000001$")
OUTBOUND = re.compile(r"^OUT-\d{4}-\d{6}$")


@pytest.fixture
def setup(transactional_db, customer_dictionary, standard_layout):
    """Complaints under Customer Service, the officer in the Complaints team, a keyword rule
    that sends complaints there (round-robin), and a live template to answer with."""
    service_desk = Department.add_root(name="Customer Service", code="customer-service")
    complaints = service_desk.add_child(name="Complaints", code="complaints")
    officer = factories.user("officer", roles.OFFICERS, first_name="Olga", last_name="Officer")
    complaints.members.add(officer)
    rule = RoutingRule(name="Complaint words → Complaints team", sort_order=10, direction=Direction.INBOUND,
                       keywords="complaint, ombudsman", department=complaints, assignment=Assignment.ROUND_ROBIN)
    rule.full_clean()
    rule.save()
    fallback = RoutingRule(name="Everything else → Customer Service", sort_order=1000, department=service_desk)
    fallback.full_clean()
    fallback.save()

    greeting = factories.fragment(customer_dictionary, key="greeting")
    body = factories.template_body(
        ("fragment", greeting),
        ("agent_slot", {"name": "answer", "label": "Our answer", "help": "", "required": True, "max_length": 1000,
                        "default_text": ""}))
    template = factories.letter_template(customer_dictionary, standard_layout, [], title="Complaint answer",
                                         slug=TEMPLATE_SLUG, subject="Your complaint — account {{ customer.id }}",
                                         body=body)
    return {"officer": officer, "complaints": complaints, "rule": rule, "template": template}


def scan_pdf():
    """A one-page PDF standing in for the scanned letter."""
    from weasyprint import HTML

    return HTML(string=f"<h1>Complaint</h1><p>{BODY}</p><p>Ada Peeters, Rue de la Loi 16, Brussels</p>").write_pdf()


def entry_page(page, reference, status):
    """Wait for the entry's page to show ``status`` (its data attribute, set by the server)."""
    page.locator(f".cc-entry[data-entry='{reference}'][data-status='{status}']").wait_for()


def test_officer_registers_a_scanned_complaint_answers_it_with_a_letter_and_closes_it(setup, open_session, tmp_path):
    officer = setup["officer"]
    scan = scan_pdf()
    assert scan.startswith(b"%PDF-")
    page = open_session("officer", factories.PASSWORD)

    # 1. Register → Register incoming mail.
    page.locator("#wagtail-sidebar").get_by_role("button", name="Register", exact=True).click()
    page.get_by_role("link", name="Register incoming mail").click()
    form = page.locator("form[data-register-form]")
    form.wait_for()
    assert page.locator("select[name=direction]").input_value() == "inbound"

    # 2. What arrived, and its scan.
    page.select_option("select[name=kind]", "letter")
    page.select_option("select[name=channel]", "post")
    page.fill("input[name=subject]", SUBJECT)
    page.fill("textarea[name=body]", BODY)
    page.fill("input[name=sender_name]", "Ada Peeters")
    page.fill("textarea[name=sender_address]", "Rue de la Loi 16\n1000 Brussels")
    page.fill("input[name=customer_id]", CUSTOMER_ID)
    page.set_input_files("input[name=scan]", files=[{"name": SCAN_NAME, "mimeType": "application/pdf",
                                                     "buffer": scan}])
    form.locator("button[type=submit]", has_text="Register").click()

    # 3. The entry's page: new number, routed to Complaints, assigned to the officer, the scan.
    entry_box = page.locator(".cc-entry[data-entry]")
    entry_box.wait_for()
    reference = entry_box.get_attribute("data-entry")
    match = INBOUND.match(reference)
    assert match, reference
    assert int(match.group(1)) == timezone.localdate().year
    page.locator(".messages", has_text=f"Registered {reference} and routed to Complaints.").wait_for()
    assert entry_box.get_attribute("data-status") == Status.ASSIGNED
    assert page.locator("[data-entry-status]").text_content().strip() == "Assigned"
    assert page.locator("[data-entry-department]").inner_text().strip() == "Complaints"
    assert page.locator("[data-entry-assignee]").inner_text().strip() == "Olga Officer"
    assert "Complaint words → Complaints team" in page.locator("[data-routing]").inner_text()
    assert "keyword=complaint" in page.locator("[data-routing]").inner_text()
    assert page.locator("[data-entry-due]").count() == 1  # the deadline clock runs
    entry_url = page.url

    document = page.locator(f"[data-attachment='{SCAN_NAME}']")
    document.wait_for()
    assert "application/pdf" in document.inner_text()
    assert document.locator("code.cc-hash").inner_text().strip() == hashlib.sha256(scan).hexdigest()
    with page.expect_download() as info:
        document.locator("a[data-download]").click()
    download = info.value
    assert download.suggested_filename == SCAN_NAME
    saved = tmp_path / "downloaded-scan.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == scan

    # 4. Start work.
    assert [button.get_attribute("data-transition") for button in page.locator("[data-transition]").all()] == [
        "start", "close"]
    page.locator("[data-transition=start]").click()
    entry_page(page, reference, Status.IN_PROGRESS)
    assert page.locator("[data-entry-status]").text_content().strip() == "In progress"
    page.locator(".messages", has_text=f"{reference} is now “In progress”.").wait_for()

    # 5. Reply with a letter: the template choice and the builder keep the entry and the customer.
    page.locator("[data-action=reply-letter]").click()
    page.wait_for_url(re.compile(r".*/admin/correspondence/letters/new/\?in_reply_to=.*"))
    choice = page.locator(f"[data-template-choice={TEMPLATE_SLUG}]")
    choice.wait_for()
    choice.click()
    page.wait_for_url(re.compile(r".*/admin/correspondence/letters/new/\d+/\?.*in_reply_to=.*"))
    page.locator(f"[data-in-reply-to='{reference}']").wait_for()
    assert page.locator("input[name=in_reply_to]").input_value() == reference
    assert page.locator("input[name=customer_id]").input_value() == CUSTOMER_ID
    assert page.locator("[data-customer-chosen]").inner_text().strip() == f"Customer {CUSTOMER_ID}"
    page.locator("[data-problems] [data-problem-field='slots.answer']").wait_for()  # the answer is required
    page.select_option("select[name=channel]", "print")
    page.locator("textarea[name='slot:answer']").fill(ANSWER)
    page.wait_for_function(
        """text => {
            const frame = document.querySelector('iframe[data-preview-frame]');
            const status = document.querySelector('[data-preview-status]').textContent;
            return status.startsWith('Preview up to date') && frame.srcdoc.includes(text);
        }""", arg=ANSWER.split(":")[0])
    page.locator("[data-problems]", has_text="Ready to generate").wait_for()
    generate = page.locator("[data-generate]")
    assert generate.is_enabled()
    generate.click()

    # 6. The letter's page.
    page.wait_for_url(re.compile(r".*/admin/correspondence/letters/inspect/\d+/$"), timeout=60_000)
    letter_reference = page.locator("[data-letter-reference]").inner_text().strip()
    assert OUTBOUND.match(letter_reference), letter_reference
    page.locator(".messages", has_text=f"Letter {letter_reference} generated.").wait_for()

    # 7. Back to the entry through the register: responded, the letter in its conversation.
    page.locator("#wagtail-sidebar").get_by_role("button", name="Register", exact=True).click()
    page.get_by_role("link", name="Inbound", exact=True).click()
    page.wait_for_url("**/admin/correspondence/register/entries/?direction__exact=inbound")
    row = page.locator(f"tr[data-entry='{reference}']")
    row.wait_for()
    assert "Responded" in row.text_content()
    assert page.locator(f"tr[data-entry='{letter_reference}']").count() == 0  # outbound, not listed here
    row.hover()
    row.get_by_role("link", name="Inspect").click()
    entry_page(page, reference, Status.RESPONDED)
    assert page.url == entry_url
    assert page.locator("[data-entry-status]").text_content().strip() == "Responded"
    assert page.locator("[data-entry-letter]").count() == 0  # the letter belongs to the outbound entry
    thread = page.locator("[data-thread]")
    # As a set: the view lists the conversation newest first, unlike Correspondence.thread().
    assert {item.get_attribute("data-thread-entry") for item in thread.locator("[data-thread-entry]").all()} == {
        reference, letter_reference}
    reply_row = thread.locator(f"[data-thread-entry='{letter_reference}']")
    assert reply_row.locator("td").nth(1).text_content().strip() == "out"
    assert "(letter" in reply_row.text_content()
    assert "Closed" in reply_row.text_content()  # nothing left to do on a letter that went out

    # 8. Close it (no reason needed after a response).
    page.locator("[data-transition=close]").click()
    entry_page(page, reference, Status.CLOSED)
    assert page.locator("[data-entry-status]").text_content().strip() == "Closed"
    assert [button.get_attribute("data-transition") for button in page.locator("[data-transition]").all()] == [
        "reopen"]
    assert page.locator("[data-versions-history] > li").count() >= 4
    page.screenshot(path=str(tmp_path / "register-entry-closed.png"), full_page=True)

    # 9. What was stored.
    entry = Correspondence.objects.get(reference=reference)
    assert entry.direction == Direction.INBOUND and entry.source == Source.ADMIN
    assert (entry.kind, entry.channel, entry.subject, entry.customer_id) == ("letter", "post", SUBJECT, CUSTOMER_ID)
    assert entry.created_by == officer and entry.assignee == officer
    assert entry.department == setup["complaints"] and entry.routing_rule == setup["rule"]
    assert entry.status == Status.CLOSED
    assert entry.closed_at is not None and entry.responded_at is not None
    assert entry.responded_at <= entry.closed_at
    assert Version.objects.get_for_object(entry).count() >= 4

    version = entry.attachments.get().versions.get()
    assert (version.filename, version.content_type, version.number) == (SCAN_NAME, "application/pdf", 1)
    assert version.sha256 == hashlib.sha256(scan).hexdigest()
    with version.file.open("rb") as handle:
        assert handle.read() == scan

    letter = Letter.objects.get(reference=letter_reference)
    assert letter.in_reply_to == entry and letter.customer_id == CUSTOMER_ID and letter.created_by == officer
    assert ANSWER == letter.slot_values["answer"]
    reply = Correspondence.objects.get(reference=letter_reference)
    assert reply.direction == Direction.OUTBOUND and reply.source == Source.LETTER
    assert reply.letter == letter and reply.in_reply_to == entry and reply.thread_root == entry
    assert list(entry.thread().values_list("reference", flat=True)) == [reference, letter_reference]

    logs = ModelLogEntry.objects.for_instance(entry)
    assert logs.filter(action=log_actions.REGISTER_CREATED, user=officer).count() == 1
    routed = logs.get(action=log_actions.REGISTER_ROUTED)
    assert (routed.data["department"], routed.data["assignee"]) == ("Complaints", "officer")
    transitions = [(item.data["from"], item.data["to"])
                   for item in logs.filter(action=log_actions.REGISTER_TRANSITIONED).order_by("pk")]
    assert transitions == [("assigned", "in_progress"), ("in_progress", "responded"), ("responded", "closed")]
    assert logs.filter(action=log_actions.REGISTER_ATTACHMENT_ADDED).count() == 1
    assert logs.filter(action=log_actions.REGISTER_ATTACHMENT_DOWNLOADED, user=officer).count() == 1
