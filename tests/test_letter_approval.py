"""Four-eyes on letters: approval rules hold matching letters (numbered, rendered, nothing sent)
until a second person of their department approves them; a returned letter keeps its
reference; the agent may withdraw; nobody approves their own letter. Through the services,
the admin and the API, and for batches."""

import copy
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import (
    Confidentiality,
    Correspondence,
    Dispatch,
    Letter,
    LetterApprovalRule,
    LetterStatus,
)
from wagtail_correspondence.models.letters import LetterImmutable
from wagtail_correspondence.services import letter_approval as approval
from wagtail_correspondence.services import letters as service
from wagtail_correspondence.services import register as register_service

from . import factories

pytestmark = pytest.mark.usefixtures("one_customer")
API = "/api/correspondence/v1/letters/"
LETTERS = "/admin/correspondence/letters/"


@pytest.fixture
def template(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary, key="greeting")
    reminder = factories.fragment(customer_dictionary, key="reminder", html="<p>Please pay {{ balance|money }}.</p>")
    body = factories.template_body(
        ("fragment", greeting), ("fragment", reminder),
        ("agent_slot", {"name": "note", "label": "Personal note", "help": "", "required": False, "max_length": 500,
                        "default_text": "We are here to help."}))
    return factories.letter_template(customer_dictionary, standard_layout, [], body=body)


@pytest.fixture
def people(make_user, billing_and_claims):
    billing, claims = billing_and_claims["billing"], billing_and_claims["claims"]

    def member(name, role, department):
        user = make_user(name, role)
        department.members.add(user)
        return user

    return {
        "agent": member("agent", roles.AGENTS, billing),
        "colleague": member("colleague", roles.AGENTS, billing),
        "approver": member("approver", roles.LETTER_APPROVERS, billing),
        "claims_approver": member("claims-approver", roles.LETTER_APPROVERS, claims),
        "supervisor": member("supervisor", roles.SUPERVISORS, billing),
        "auditor": make_user("auditor", roles.AUDITORS),
        "billing": billing, "claims": claims,
    }


@pytest.fixture
def big_refunds(db):
    return LetterApprovalRule.objects.create(name="Balances over 1,000", field="balance", operator="gt", value="1000")


def write(user, template, balance="250.00", **kwargs):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["balance"] = balance
    kwargs.setdefault("channel", "print")
    return service.generate_letter(user, service.LetterRequest(template=template, data=data, **kwargs))


def actions(letter):
    return list(ModelLogEntry.objects.for_instance(letter).order_by("pk").values_list("action", flat=True))


# Which letters are held -----------------------------------------------------------------------


def test_a_letter_no_rule_holds_goes_out_as_before(people, template, big_refunds):
    letter = write(people["agent"], template, balance="250.00")
    assert letter.status == LetterStatus.GENERATED and letter.approval_reasons == []
    assert letter.dispatches.exists() and Correspondence.objects.filter(letter=letter).exists()


def test_a_held_letter_is_numbered_and_rendered_but_nothing_is_sent_or_registered(people, template, big_refunds):
    letter = write(people["agent"], template, balance="5000.00")
    assert letter.status == LetterStatus.PENDING_APPROVAL
    assert letter.reference and letter.pdf and letter.pdf_sha256 and letter.html
    assert letter.approval_reasons == ["Balances over 1,000"]
    assert letter.fragment_pins.count() == 2
    assert not Dispatch.objects.filter(letter=letter).exists()
    assert not Correspondence.objects.filter(letter=letter).exists()
    assert actions(letter)[-1] == log_actions.LETTER_SUBMITTED
    entry = ModelLogEntry.objects.for_instance(letter).get(action=log_actions.LETTER_SUBMITTED)
    assert entry.data["reasons"] == ["Balances over 1,000"] and entry.data["pdf_sha256"] == letter.pdf_sha256


def test_each_condition_of_a_rule_must_hold(people, template, customer_dictionary, standard_layout):
    other = factories.letter_template(customer_dictionary, standard_layout,
                                      [factories.fragment(customer_dictionary, key="other")], title="Other")
    rule = LetterApprovalRule.objects.create(name="Billing's notes on reminders", template=template,
                                             department=people["billing"], agent_wrote_text=True, channel="print")
    agent = people["agent"]
    assert write(agent, template, slots={"note": "I waived the fee."}).is_awaiting_approval
    # The slot's default text, or nothing typed, is the template's own wording.
    assert write(agent, template).is_generated
    assert write(agent, template, slots={"note": "We are here to help."}).is_generated
    assert write(agent, template, slots={"note": "   "}).is_generated
    assert write(agent, template, slots={"note": "I waived it."}, channel="email").is_generated
    assert write(agent, other).is_generated
    claims_agent = factories.user("claims-agent", roles.AGENTS)
    people["claims"].members.add(claims_agent)
    assert write(claims_agent, template, slots={"note": "I waived the fee."}).is_generated
    rule.is_active = False
    rule.save()
    assert write(agent, template, slots={"note": "I waived the fee."}).is_generated


def test_a_department_rule_covers_the_departments_below(people, template, billing_and_claims):
    head = billing_and_claims["billing"].get_parent()
    LetterApprovalRule.objects.create(name="Head office and below", department=head)
    assert write(people["agent"], template).is_awaiting_approval


def test_replies_to_strictly_confidential_entries_are_held(people, template, make_user):
    LetterApprovalRule.objects.create(name="Strictly confidential replies", confidential_reply=True)
    officer = make_user("officer", roles.OFFICERS, roles.SUPERVISORS)
    people["billing"].members.add(officer)
    secret = register_service.register_entry(officer, subject="Fraud report", kind="letter", channel="post",
                                             department=people["billing"],
                                             confidentiality=Confidentiality.SECRET)
    plain = register_service.register_entry(officer, subject="Question", kind="letter", channel="post",
                                            department=people["billing"])
    assert write(officer, template, in_reply_to=secret).is_awaiting_approval
    assert write(officer, template, in_reply_to=plain).is_generated
    assert write(officer, template).is_generated


def test_a_rule_that_cannot_be_applied_holds_the_letter(people, template):
    # Saved around the form's checks (a text field cannot be "greater than"): the letter is held,
    # and the reason says why, rather than leaving unapproved.
    LetterApprovalRule.objects.create(name="Broken", field="customer.first_name", operator="gt", value="M")
    letter = write(people["agent"], template)
    assert letter.is_awaiting_approval
    assert letter.approval_reasons[0].startswith("Broken (") and "customer.first_name" in letter.approval_reasons[0]


def test_a_rule_is_checked_against_the_data_dictionaries_when_saved(template, db):
    def errors(**fields):
        with pytest.raises(ValidationError) as caught:
            LetterApprovalRule(name="Rule", **fields).full_clean()
        return caught.value.message_dict

    assert "field" in errors(field="ballance", value="10")
    assert "value" in errors(field="balance", value="a lot")
    assert "value" in errors(field="balance", value="")
    assert "field" in errors(value="10")
    assert "operator" in errors(field="customer.first_name", operator="gt", value="M")
    assert "field" in errors(field="invoices", operator="eq", value="1")
    assert "field" in errors(field="not a name!", value="1")
    LetterApprovalRule(name="Rule", field="balance", operator="gte", value="1000.50", template=template).full_clean()
    LetterApprovalRule(name="Rule", field="customer.first_name", operator="eq", value="Ada").full_clean()


# Deciding -------------------------------------------------------------------------------------


def test_an_approver_of_the_department_approves_and_the_letter_is_sent(people, template, big_refunds):
    letter = write(people["agent"], template, balance="5000.00")
    approved = approval.approve_letter(people["approver"], letter, "Checked the refund.")
    approved = Letter.objects.get(pk=approved.pk)
    assert approved.status == LetterStatus.GENERATED
    assert approved.approved_by == people["approver"] and approved.approved_at
    assert approved.reference == letter.reference and approved.pdf_sha256 == letter.pdf_sha256
    assert sorted(Dispatch.objects.filter(letter=approved).values_list("channel", flat=True)) == ["archive", "print"]
    entry = Correspondence.objects.get(letter=approved)
    assert entry.reference == approved.reference and entry.created_by == people["agent"]
    assert actions(approved)[-1] == log_actions.LETTER_APPROVED
    assert ModelLogEntry.objects.for_instance(approved).get(
        action=log_actions.LETTER_APPROVED).data["comment"] == "Checked the refund."
    # A record now, like any generated letter.
    approved.approval_reasons = []
    with pytest.raises(LetterImmutable):
        approved.save()
    with pytest.raises(approval.ApprovalError):
        approval.approve_letter(people["supervisor"], approved)


def test_nobody_approves_their_own_letter_or_one_outside_their_departments(people, template, big_refunds, make_user):
    letter = write(people["agent"], template, balance="5000.00")
    # The agent, an agent colleague, an approver of Claims, an auditor: refused, nothing changes.
    for user in (people["agent"], people["colleague"], people["claims_approver"], people["auditor"]):
        with pytest.raises(PermissionDenied):
            approval.approve_letter(user, letter)
        with pytest.raises(PermissionDenied):
            approval.return_letter(user, letter, "No.")
        assert not approval.can_approve(user, letter)
    # An approver who wrote a letter cannot approve it either, even with every permission.
    admin = make_user("root", superuser=True)
    own = write(admin, template, balance="5000.00")
    with pytest.raises(PermissionDenied, match="another person"):
        approval.approve_letter(admin, own)
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.PENDING_APPROVAL
    assert set(approval.approvable_letters(people["approver"])) == {letter}  # the admin's is in no department
    assert set(approval.approvable_letters(people["supervisor"])) == {letter, own}  # view_all_letters
    assert not approval.approvable_letters(people["claims_approver"]).exists()


def test_a_returned_letter_keeps_its_reference_and_goes_back_to_the_approver(
        people, template, big_refunds, django_capture_on_commit_callbacks):
    agent = people["agent"]
    letter = write(agent, template, balance="5000.00", slots={"note": "Sorry."})
    first_pdf = letter.pdf.name
    with pytest.raises(approval.ApprovalError) as caught:
        approval.return_letter(people["approver"], letter, "   ")
    assert caught.value.field == "comment"
    returned = approval.return_letter(people["approver"], letter, "Say why the fee was waived.")
    assert returned.status == LetterStatus.RETURNED and returned.return_comment == "Say why the fee was waived."
    # The agent changes it (a draft again, for them only) and submits it again.
    assert service.can_edit_draft(agent, returned) and not service.can_edit_draft(people["colleague"], returned)
    changed = service.request_for_draft(returned, slots={"note": "We waived the fee as you were in hospital."})
    service.save_draft(agent, changed, returned)
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.RETURNED
    with django_capture_on_commit_callbacks(execute=True):
        again = service.generate_letter(agent, service.request_for_draft(Letter.objects.get(pk=letter.pk)),
                                        draft=Letter.objects.get(pk=letter.pk))
    assert again.pk == letter.pk and again.reference == letter.reference
    assert again.status == LetterStatus.PENDING_APPROVAL
    assert "in hospital" in again.html and again.pdf_sha256 != letter.pdf_sha256
    assert not again.pdf.storage.exists(first_pdf), "the returned version's PDF is replaced"
    assert Letter.objects.filter(reference=letter.reference).count() == 1
    assert actions(again)[-3:] == [log_actions.LETTER_RETURNED, log_actions.LETTER_DRAFT_SAVED,
                                   log_actions.LETTER_RESUBMITTED]
    final = approval.approve_letter(people["approver"], again)
    assert final.is_generated and Dispatch.objects.filter(letter=final, channel="print").exists()


def test_a_returned_letter_no_rule_holds_any_more_still_needs_an_approver(people, template, big_refunds):
    agent = people["agent"]
    letter = write(agent, template, balance="5000.00")
    approval.return_letter(people["approver"], letter, "The balance is wrong.")
    letter = Letter.objects.get(pk=letter.pk)
    data = copy.deepcopy(factories.SAMPLE_DATA)
    again = service.generate_letter(agent, service.request_for_draft(letter, data=data), draft=letter)
    assert again.status == LetterStatus.PENDING_APPROVAL
    assert again.approval_reasons == ["Balances over 1,000"]
    assert not Dispatch.objects.filter(letter=again).exists()


def test_the_agent_withdraws_a_letter_which_is_then_never_sent(people, template, big_refunds):
    agent = people["agent"]
    letter = write(agent, template, balance="5000.00")
    with pytest.raises(PermissionDenied):
        approval.withdraw_letter(people["approver"], letter)
    withdrawn = approval.withdraw_letter(agent, letter, "Customer paid meanwhile.")
    assert withdrawn.status == LetterStatus.WITHDRAWN
    with pytest.raises(approval.ApprovalError):
        approval.approve_letter(people["approver"], withdrawn)
    with pytest.raises(approval.ApprovalError):
        approval.withdraw_letter(agent, withdrawn)
    stored = Letter.objects.get(pk=letter.pk)
    stored.status = LetterStatus.PENDING_APPROVAL
    with pytest.raises(LetterImmutable):
        stored.save()
    with pytest.raises(LetterImmutable):
        Letter.objects.get(pk=letter.pk).delete()
    with pytest.raises(PermissionDenied):
        service.discard_draft(agent, Letter.objects.get(pk=letter.pk))
    assert not Dispatch.objects.filter(letter=letter).exists()


def test_wording_withdrawn_after_submission_is_not_approved(people, template, big_refunds):
    letter = write(people["agent"], template, balance="5000.00")
    reminder = letter.fragment_pins.get(fragment__key="reminder").fragment
    reminder.unpublish()
    with pytest.raises(approval.ApprovalError, match="withdrawn since"):
        approval.approve_letter(people["approver"], letter)
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.PENDING_APPROVAL
    approval.return_letter(people["approver"], letter, "The reminder wording was withdrawn.")


# Batches -------------------------------------------------------------------------------------------


def test_batch_letters_a_rule_holds_wait_for_approval(people, template, big_refunds,
                                                      django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from wagtail_correspondence.services import batches as batch_service

    content = b"customer_id,balance\nC-1001,100.00\nC-1001,2500.00\nC-1001,300.00\n"
    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_service.create_batch(people["agent"], template, SimpleUploadedFile("rows.csv", content),
                                           channel="print")
    with django_capture_on_commit_callbacks(execute=True):
        batch_service.start_batch(people["agent"], batch)
    letters = {str(letter.data["balance"]): letter for letter in Letter.objects.filter(batch_row__batch=batch)}
    assert set(letters) == {"100.00", "2500.00", "300.00"}
    assert letters["2500.00"].status == LetterStatus.PENDING_APPROVAL
    assert letters["2500.00"].approval_reasons == ["Balances over 1,000"]
    assert letters["100.00"].is_generated and letters["300.00"].is_generated
    assert not Dispatch.objects.filter(letter=letters["2500.00"]).exists()
    assert not Correspondence.objects.filter(letter=letters["2500.00"]).exists()
    assert Correspondence.objects.filter(letter=letters["100.00"]).exists()
    assert ModelLogEntry.objects.for_instance(letters["2500.00"]).filter(action=log_actions.LETTER_SUBMITTED).exists()
    approved = approval.approve_letter(people["approver"], letters["2500.00"])
    assert Dispatch.objects.filter(letter=approved, channel="print").exists()
    assert Correspondence.objects.filter(letter=approved).exists()


# The admin ---------------------------------------------------------------------------------------


def test_the_approver_decides_on_the_letters_page(client, people, template, big_refunds):
    letter = write(people["agent"], template, balance="5000.00", slots={"note": "I waived the fee."})
    client.force_login(people["agent"])
    page = client.get(f"{LETTERS}inspect/{letter.pk}/").content.decode()
    assert "data-awaiting-other" in page and "data-decision-form" not in page and "data-withdraw" in page
    assert client.get(f"{LETTERS}pdf/{letter.pk}/").status_code == 200
    # The agent's own decision is refused even when posted by hand (Wagtail's admin answers a
    # refusal with its "no permission" redirect).
    assert client.post(f"{LETTERS}decide/{letter.pk}/", {"decision": "approve"}).status_code == 302
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.PENDING_APPROVAL

    client.force_login(people["approver"])
    home = client.get("/admin/").content.decode()
    row = re.search(rf'<tr data-letter="{letter.reference}">(.*?)</tr>', home, re.S).group(1)
    agent = people["agent"].get_full_name() or people["agent"].get_username()
    assert template.title in row and agent in row and "Balances over 1,000" in row
    page = client.get(f"{LETTERS}inspect/{letter.pk}/").content.decode()
    assert "data-decision-form" in page and "Balances over 1,000" in page
    assert "I waived the fee." in page.split("data-agent-text", 1)[1]
    response = client.post(f"{LETTERS}decide/{letter.pk}/", {"decision": "return", "comment": ""}, follow=True)
    assert "Say what the agent should change." in response.content.decode()
    client.post(f"{LETTERS}decide/{letter.pk}/", {"decision": "return", "comment": "Explain the waiver."})
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.RETURNED

    client.force_login(people["agent"])
    home = client.get("/admin/").content.decode()
    assert "data-returned-letters" in home and "Explain the waiver." in home
    builder = client.get(f"{LETTERS}edit/{letter.pk}/").content.decode()
    assert "data-returned-comment" in builder and "Submit again for approval" in builder
    form = {"customer_id": "C-1001", "channel": "print", "slot:note": "Waived: you were in hospital.",
            "action": "generate"}
    response = client.post(f"{LETTERS}edit/{letter.pk}/", form, follow=True)
    assert "waiting for a second person" in response.content.decode()
    letter = Letter.objects.get(pk=letter.pk)
    assert letter.status == LetterStatus.PENDING_APPROVAL and letter.slot_values["note"].startswith("Waived")

    client.force_login(people["claims_approver"])
    assert client.post(f"{LETTERS}decide/{letter.pk}/", {"decision": "approve"}).status_code == 404
    client.force_login(people["approver"])
    client.post(f"{LETTERS}decide/{letter.pk}/", {"decision": "approve", "comment": "Fine now."})
    letter = Letter.objects.get(pk=letter.pk)
    assert letter.is_generated and letter.approved_by == people["approver"]
    page = client.get(f"{LETTERS}inspect/{letter.pk}/").content.decode()
    assert "data-approved-by" in page and "data-decision-form" not in page


def test_approval_rules_are_managed_by_supervisors_and_read_by_auditors(client, people, template):
    url = "/admin/correspondence/letter-approval-rules/"
    client.force_login(people["supervisor"])
    response = client.post(f"{url}new/", {"name": "Big balances", "is_active": "on", "field": "balance",
                                          "operator": "gt", "value": "lots"})
    assert response.status_code == 200 and "is not a number" in response.content.decode()
    assert not LetterApprovalRule.objects.exists()
    response = client.post(f"{url}new/", {"name": "Big balances", "is_active": "on", "field": "balance",
                                          "operator": "gt", "value": "1000"})
    assert response.status_code == 302
    rule = LetterApprovalRule.objects.get()
    assert "balance greater than / after 1000" in client.get(url).content.decode()
    assert ModelLogEntry.objects.for_instance(rule).filter(action="wagtail.create").exists()
    for role, status in (("agent", 302), ("approver", 302), ("auditor", 200)):
        client.force_login(people[role])
        assert client.get(url).status_code == status, role
        assert client.post(f"{url}edit/{rule.pk}/", {"name": "Off", "field": "", "value": ""}).status_code in (
            302, 403), role
    assert LetterApprovalRule.objects.get().name == "Big balances"


# The API -------------------------------------------------------------------------------------------


def test_the_api_holds_approves_returns_and_withdraws(client, people, template, big_refunds):
    client.force_login(people["agent"])
    payload = {"template": template.pk, "data": {**copy.deepcopy(factories.SAMPLE_DATA), "balance": "5000.00"},
               "channel": "print"}
    created = client.post(API, payload, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    key = body["reference"]
    assert body["status"] == "pending_approval" and body["approval"]["reasons"] == ["Balances over 1,000"]
    assert body["delivery"] == [] and "approve" in body["links"]
    assert client.post(f"{API}{key}/approve/", {}, content_type="application/json").status_code == 403
    assert client.delete(f"{API}{key}/").status_code == 409

    client.force_login(people["claims_approver"])
    assert client.post(f"{API}{key}/approve/", {}, content_type="application/json").status_code == 404
    client.force_login(people["auditor"])
    assert client.post(f"{API}{key}/approve/", {}, content_type="application/json").status_code == 403

    client.force_login(people["approver"])
    queue = client.get(f"{API}?awaiting_my_approval=true").json()
    assert [item["reference"] for item in queue["results"]] == [key]
    response = client.post(f"{API}{key}/return/", {"comment": ""}, content_type="application/json")
    assert response.status_code == 400 and "comment" in response.json()
    response = client.post(f"{API}{key}/return/", {"comment": "Check the balance."}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "returned"
    assert response.json()["approval"]["return_comment"] == "Check the balance."
    assert client.post(f"{API}{key}/approve/", {}, content_type="application/json").status_code == 409

    client.force_login(people["agent"])
    patched = client.patch(f"{API}{key}/", {"data": {**copy.deepcopy(factories.SAMPLE_DATA), "balance": "4000.00"}},
                           content_type="application/json")
    assert patched.status_code == 200
    again = client.post(f"{API}{key}/generate/")
    assert again.status_code == 201 and again.json()["status"] == "pending_approval"
    assert again.json()["reference"] == key

    client.force_login(people["approver"])
    approved = client.post(f"{API}{key}/approve/", {"comment": "OK"}, content_type="application/json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "generated" and approved.json()["approval"]["approved_by"] == "approver"
    assert {item["channel"] for item in approved.json()["delivery"]} == {"print", "archive"}
    assert client.get(f"{API}?awaiting_my_approval=true").json()["count"] == 0

    client.force_login(people["agent"])
    second = client.post(API, payload, content_type="application/json").json()["reference"]
    withdrawn = client.post(f"{API}{second}/withdraw/", {"reason": "Paid."}, content_type="application/json")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert client.post(f"{API}{second}/withdraw/", {}, content_type="application/json").status_code == 409


def test_approvers_are_emailed_and_the_agent_hears_back(people, template, big_refunds, mailoutbox,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        letter = write(people["agent"], template, balance="5000.00")
    to = sorted(address for message in mailoutbox for address in message.to)
    # Billing's approver and the supervisor (every department); not the agent, not Claims.
    assert to == sorted([people["approver"].email, people["supervisor"].email])
    assert all(message.subject == f"Letter {letter.reference} waits for your approval" for message in mailoutbox)
    assert "Balances over 1,000" in mailoutbox[0].body and f"/inspect/{letter.pk}/" in mailoutbox[0].body
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approval.return_letter(people["approver"], letter, "Check the balance.")
    [returned] = mailoutbox
    assert returned.to == [people["agent"].email] and "Check the balance." in returned.body
    mailoutbox.clear()
    letter = Letter.objects.get(pk=letter.pk)
    with django_capture_on_commit_callbacks(execute=True):
        again = service.generate_letter(people["agent"], service.request_for_draft(letter), draft=letter)
        approval.approve_letter(people["supervisor"], again)
    # Resubmitted, then approved before its notice went out: nobody is asked to approve a decided letter.
    assert [message.to for message in mailoutbox] == [[people["agent"].email]]
    assert "approved" in mailoutbox[0].subject
