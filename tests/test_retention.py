"""Retention: the most specific policy of a category subtree applies; anonymising removes the
personal data of an entry, its notes, documents (files too), letter, portal reply and
versions, and keeps the record and the audit log intact; purging deletes; a legal hold on
any entry of a conversation stops the whole conversation; a dry run changes nothing; the
command reports; placing and lifting holds needs the permission in the admin and the API."""

import io
import json

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core import serializers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from reversion.models import Version
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import (
    Attachment,
    AttachmentVersion,
    Correspondence,
    Letter,
    Note,
    PortalResponse,
    RetentionPolicy,
    TaggedCorrespondence,
)
from wagtail_correspondence.services import retention
from wagtail_correspondence.services.register_access import search_entries

from .privacy import PERSONAL, categories, close, conversation, customer_record, later, register

pytestmark = pytest.mark.django_db

API = "/api/correspondence/v1/correspondence/"


@pytest.fixture
def tree(db):
    return categories()


@pytest.fixture
def officer(make_user):
    return make_user("officer", roles.OFFICERS)


@pytest.fixture
def supervisor(make_user):
    return make_user("supervisor", roles.SUPERVISORS)


@pytest.fixture
def customer(customers):
    customers(customer_record())


def policy(name, years=0, days=0, action="anonymise", category=None, active=True):
    return RetentionPolicy.objects.create(name=name, retain_years=years, retain_days=days, action=action,
                                          category=category, is_active=active)


def files_of(conv):
    """(storage, name) of every stored file the conversation has: documents, PDF, portal file."""
    found = [(version.file.storage, version.file.name) for version in
             AttachmentVersion.objects.filter(attachment__correspondence__in=conv.entries)]
    found.append((conv.letter.pdf.storage, conv.letter.pdf.name))
    for response in PortalResponse.objects.filter(letter=conv.letter):
        found.append((response.attachment.storage, response.attachment.name))
    return found


def stored_text():
    """Every row of the app's tables and every django-reversion version, as text (encrypted
    fields decrypted), except the audit log, which is never edited."""
    chunks = []
    for model in apps.get_app_config("wagtail_correspondence").get_models():
        if model._meta.proxy:
            continue
        chunks.append(serializers.serialize("json", model.objects.all()))
    chunks.append(json.dumps([version.serialized_data for version in Version.objects.all()]))
    return "\n".join(chunks)


def refused(response):
    """Wagtail's admin answers a refusal with a redirect to the dashboard and a message."""
    return response.status_code == 403 or (response.status_code == 302 and response["Location"] == "/admin/")


def audit_intact():
    out = io.StringIO()
    call_command("correspondence_verify_audit", stdout=out)  # raises CommandError when broken
    return "intact" in out.getvalue()


# Policies ---------------------------------------------------------------------------------

def test_the_most_specific_policy_of_the_category_subtree_wins(officer, tree):
    default = policy("Default", years=10)
    complaints = policy("Complaints", years=2, action="purge", category=tree["complaints"])
    delayed = register(officer, subject="Late", category=tree["complaints-delay"])
    rude = register(officer, subject="Rude", category=tree["complaints-staff"])
    bill = register(officer, subject="Invoice", category=tree["billing"])
    loose = register(officer, subject="Other")
    for entry in (delayed, rude, bill, loose):
        close(officer, entry)
    assert retention.policy_for(delayed) == complaints  # through its parent category
    assert retention.policy_for(bill) == retention.policy_for(loose) == default
    delay = policy("Delay", days=30, category=tree["complaints-delay"])
    assert retention.policy_for(delayed) == delay and retention.policy_for(rude) == complaints
    table = retention.policy_table()
    assert table[tree["complaints-delay"].pk] == delay and table[tree["complaints-staff"].pk] == complaints
    assert table[tree["billing"].pk] == table[None] == default

    def due(days):
        return {item.entry.subject: (item.policy.name, item.action) for item in retention.due_for_retention(later(days))}

    assert due(29) == {}
    assert due(31) == {"Late": ("Delay", "anonymise")}
    assert due(2 * 366) == {"Late": ("Delay", "anonymise"), "Rude": ("Complaints", "purge")}
    assert due(10 * 366) == {"Late": ("Delay", "anonymise"), "Rude": ("Complaints", "purge"),
                             "Invoice": ("Default", "anonymise"), "Other": ("Default", "anonymise")}
    # An inactive policy gives way to the next one up the tree.
    delay.is_active = False
    delay.save()
    assert due(2 * 366)["Late"] == ("Complaints", "purge")
    # Open entries are never due.
    open_entry = register(officer, subject="Still open", category=tree["complaints"])
    assert open_entry.pk not in {item.entry.pk for item in retention.due_for_retention(later(100 * 366))}


def test_the_period_counts_from_closing_and_one_default_only(officer, tree):
    default = policy("Default", years=1, days=10)
    assert default.expires(later(0).replace(year=2024, month=2, day=29)).date().isoformat() == "2025-03-10"
    with pytest.raises(ValidationError):
        RetentionPolicy(name="Second default", retain_years=2).validate_constraints()
    with pytest.raises(ValidationError):
        RetentionPolicy(name="Nothing kept", retain_years=0, retain_days=0).full_clean()


# Anonymise ---------------------------------------------------------------------------------

@pytest.mark.usefixtures("customer")
def test_anonymise_removes_personal_data_and_keeps_the_record_and_the_audit_log(
        officer, tree, django_capture_on_commit_callbacks):
    conv = conversation(officer, django_capture_on_commit_callbacks, category=tree["complaints-delay"])
    files = files_of(conv)
    assert len(files) == 5 and all(storage.exists(name) for storage, name in files)  # 2 + 1 scan versions, PDF, receipt
    text = stored_text()
    assert all(word in text for word in PERSONAL)  # the check below would see them
    before = {entry.pk: (entry.reference, entry.registered_at, entry.closed_at, entry.category_id, entry.direction)
              for entry in conv.entries}
    pdf_sha256, logs_before = conv.letter.pdf_sha256, ModelLogEntry.objects.count()
    policy("Default", years=1)

    with django_capture_on_commit_callbacks(execute=True):
        result = retention.apply_retention(later(400))

    assert sorted(result.anonymised) == sorted(entry.reference for entry in conv.entries) and not result.purged
    conv.refresh()
    for entry in conv.entries:
        assert before[entry.pk] == (entry.reference, entry.registered_at, entry.closed_at, entry.category_id,
                                    entry.direction)
        assert entry.subject == "[anonymised]" and entry.customer_id == "" and entry.body == ""
        assert not (entry.sender_name or entry.sender_email or entry.sender_phone or entry.sender_address
                    or entry.recipients or entry.external_reference or entry.resolution)
        # Only the version recording the anonymised state is left.
        versions = Version.objects.get_for_object(entry)
        assert versions.count() == 1 and versions.get().field_dict["subject"] == "[anonymised]"
    assert list(conv.complaint.tags.names()) == ["claims"]
    assert list(Note.objects.filter(correspondence=conv.complaint).values_list("text", flat=True)) == ["[anonymised]"]
    assert not Attachment.objects.exists() and not AttachmentVersion.objects.exists()
    assert not any(storage.exists(name) for storage, name in files)  # the files are gone from storage
    letter = conv.letter
    assert letter.reference == conv.outbound.reference and letter.is_generated and letter.pdf_sha256 == pdf_sha256
    assert letter.data == {} and letter.slot_values == {} and letter.data_overrides is None
    assert letter.recipient_name == letter.html == letter.email_text == letter.customer_id == "" and not letter.pdf
    assert set(letter.dispatches.values_list("recipient", flat=True)) == {""}
    assert PortalResponse.objects.get().text == "" and not PortalResponse.objects.get().attachment
    # No trace of the customer anywhere but in the (immutable) audit log.
    text = stored_text()
    assert [word for word in PERSONAL if word in text] == []
    assert not search_entries(Correspondence.objects.all(), "Quirinus").exists()
    # Each change has its own log entry; none was deleted or edited.
    anonymised = ModelLogEntry.objects.filter(action=log_actions.RETENTION_ANONYMISED)
    assert sorted(int(item.object_id) for item in anonymised) == sorted(entry.pk for entry in conv.entries)
    assert all(item.data["policy"] == "Default" and item.data["reference"] for item in anonymised)
    assert anonymised.get(object_id=str(conv.complaint.pk)).data["documents"] == 1
    assert ModelLogEntry.objects.filter(action=log_actions.RETENTION_LETTER_ANONYMISED,
                                        object_id=str(letter.pk)).count() == 1
    assert ModelLogEntry.objects.count() > logs_before and audit_intact()
    # Anonymised once: the next run has nothing to do.
    assert retention.apply_retention(later(800)).total == 0


# Purge ----------------------------------------------------------------------------------------

@pytest.mark.usefixtures("customer")
def test_purge_deletes_the_conversation_and_anonymises_its_letter(officer, django_capture_on_commit_callbacks):
    conv = conversation(officer, django_capture_on_commit_callbacks)
    files = files_of(conv)
    ids = [entry.pk for entry in conv.entries]
    policy("Default", days=90, action="purge")

    with django_capture_on_commit_callbacks(execute=True):
        result = retention.apply_retention(later(91))

    # Replies before what they answer, so nothing refers to a deleted entry.
    assert result.purged == [conv.reply.reference, conv.outbound.reference, conv.complaint.reference]
    assert not Correspondence.objects.filter(pk__in=ids).exists()
    assert not Note.objects.exists() and not Attachment.objects.exists() and not TaggedCorrespondence.objects.exists()
    assert not Version.objects.filter(content_type__model="correspondence", object_id__in=[str(pk) for pk in ids])
    assert not PortalResponse.objects.exists()
    assert not any(storage.exists(name) for storage, name in files)
    letter = Letter.objects.get(pk=conv.letter.pk)  # a generated letter is a record: anonymised, kept
    assert letter.data == {} and not letter.pdf and letter.in_reply_to_id is None
    assert [word for word in PERSONAL if word in stored_text()] == []
    purged = ModelLogEntry.objects.filter(action=log_actions.RETENTION_PURGED)
    assert sorted(int(item.object_id) for item in purged) == sorted(ids) and all(item.deleted for item in purged)
    assert all("Quirinus" not in item.label and "Delay" not in item.label for item in purged)
    assert audit_intact()


@pytest.mark.usefixtures("customer")
def test_an_entry_others_still_answer_is_anonymised_instead_of_purged(officer, tree,
                                                                      django_capture_on_commit_callbacks):
    conv = conversation(officer, django_capture_on_commit_callbacks, category=tree["complaints"])
    policy("Complaints", days=30, action="purge", category=tree["complaints"])
    policy("Default", years=5)  # the letter and the reply have no category

    with django_capture_on_commit_callbacks(execute=True):
        result = retention.apply_retention(later(31))

    assert result.purged == [] and result.kept_for_replies == [conv.complaint.reference]
    conv.refresh()
    assert conv.complaint.subject == "[anonymised]" and conv.complaint.sender_email == ""
    assert retention.apply_retention(later(32)).anonymised == []  # nothing more while the replies remain
    with django_capture_on_commit_callbacks(execute=True):
        result = retention.apply_retention(later(6 * 366))
    assert sorted(result.anonymised) == sorted([conv.outbound.reference, conv.reply.reference])
    RetentionPolicy.objects.filter(name="Default").update(action="purge")
    with django_capture_on_commit_callbacks(execute=True):
        result = retention.apply_retention(later(6 * 366))
    assert result.purged == [conv.reply.reference, conv.outbound.reference, conv.complaint.reference]
    assert audit_intact()


# Legal hold ----------------------------------------------------------------------------------

@pytest.mark.usefixtures("customer")
@pytest.mark.parametrize("held", ["complaint", "reply"])
def test_a_legal_hold_on_any_entry_of_a_conversation_stops_all_of_it(held, officer, supervisor,
                                                                     django_capture_on_commit_callbacks):
    conv = conversation(officer, django_capture_on_commit_callbacks)
    elsewhere = close(officer, register(officer, subject="Unrelated", sender_name="Someone Else"))
    policy("Default", days=10, action="purge")
    retention.place_legal_hold(getattr(conv, held), supervisor, "Litigation 2026/17")

    with django_capture_on_commit_callbacks(execute=True):
        result = retention.apply_retention(later(11))

    assert result.purged == [elsewhere.reference]  # a hold keeps its conversation only
    assert sorted(item.entry.reference for item in result.held) == sorted(entry.reference for entry in conv.entries)
    conv.refresh()
    assert conv.complaint.sender_name == "Zoë Quirinus" and conv.letter.data["customer"]["last_name"] == "Quirinus"
    assert conv.letter.pdf and conv.complaint.attachments.exists()
    assert retention.due_for_retention(later(11)) == []

    retention.lift_legal_hold(getattr(conv, held), supervisor, "Case closed")
    with django_capture_on_commit_callbacks(execute=True):
        result = retention.apply_retention(later(11))
    assert len(result.purged) == 3 and not Correspondence.objects.exists()
    actions = list(ModelLogEntry.objects.filter(object_id=str(getattr(conv, held).pk), action__in=[
        log_actions.REGISTER_LEGAL_HOLD_PLACED, log_actions.REGISTER_LEGAL_HOLD_LIFTED]).order_by("pk")
        .values_list("action", "data__reason"))
    assert actions == [(log_actions.REGISTER_LEGAL_HOLD_PLACED, "Litigation 2026/17"),
                       (log_actions.REGISTER_LEGAL_HOLD_LIFTED, "Case closed")]
    assert audit_intact()


# Dry run and the command -------------------------------------------------------------------

def snapshot():
    return (stored_text(), ModelLogEntry.objects.count(), Version.objects.count())


@pytest.mark.usefixtures("customer")
def test_a_dry_run_changes_nothing(officer, tree, django_capture_on_commit_callbacks):
    conv = conversation(officer, django_capture_on_commit_callbacks, category=tree["complaints"])
    policy("Complaints", days=30, action="purge", category=tree["complaints"])
    policy("Default", days=30, action="purge")
    files = files_of(conv)
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        result = retention.apply_retention(later(31), dry_run=True)
    assert result.dry_run and len(result.purged) == 3
    assert snapshot() == before and all(storage.exists(name) for storage, name in files)


@pytest.mark.usefixtures("customer")
def test_the_command_reports_per_policy_and_the_holds(officer, supervisor, tree, django_capture_on_commit_callbacks):
    conv = conversation(officer, django_capture_on_commit_callbacks)
    complaint = close(officer, register(officer, subject="Rude", category=tree["complaints-staff"]))
    held = close(officer, register(officer, subject="Sued", category=tree["complaints"]))
    retention.place_legal_hold(held, supervisor, "Court case")
    policy("Complaints", days=30, action="purge", category=tree["complaints"])
    policy("Default", years=1)
    now = later(400).isoformat()

    out = io.StringIO()
    call_command("correspondence_apply_retention", "--dry-run", "--now", now, stdout=out)
    text = out.getvalue()
    assert "Dry run: nothing was changed." in text
    assert "Complaints: would purge 1 entries" in text and "Default: would anonymise 3 entries" in text
    assert f"Skipped because of a legal hold: 1 ({held.reference})" in text
    assert Correspondence.objects.filter(pk=complaint.pk).exists()

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("correspondence_apply_retention", "--now", now, "--user", "supervisor", stdout=out)
    text = out.getvalue()
    assert "Complaints: purged 1 entries" in text and "Default: anonymised 3 entries" in text
    assert "3 anonymised, 1 purged; 4 entries changed." in text
    assert not Correspondence.objects.filter(pk=complaint.pk).exists()
    assert ModelLogEntry.objects.get(action=log_actions.RETENTION_PURGED).user == supervisor
    conv.refresh()
    assert conv.complaint.subject == "[anonymised]"

    out = io.StringIO()
    call_command("correspondence_apply_retention", "--now", now, stdout=out)
    assert "No entry is due." in out.getvalue()


# Permissions ------------------------------------------------------------------------------

def test_the_roles_get_the_new_permissions():
    def codenames(role):
        return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))

    manage = {"add_retentionpolicy", "change_retentionpolicy", "delete_retentionpolicy", "view_retentionpolicy"}
    assert manage | {"set_legal_hold_correspondence", "export_subject_access"} <= codenames(roles.ADMINISTRATORS)
    assert manage | {"set_legal_hold_correspondence"} <= codenames(roles.SUPERVISORS)
    assert "export_subject_access" not in codenames(roles.SUPERVISORS)
    assert codenames(roles.AUDITORS) & (manage | {"set_legal_hold_correspondence", "export_subject_access"}) == {
        "view_retentionpolicy"}
    for role in (roles.OFFICERS, roles.AGENTS):
        assert not codenames(role) & {"set_legal_hold_correspondence", "export_subject_access"}


def test_placing_and_lifting_holds_needs_the_permission_in_the_service_and_the_admin(client, officer, supervisor):
    entry = close(officer, register(officer, subject="Claim"))
    with pytest.raises(PermissionDenied):
        retention.place_legal_hold(entry, officer, "Mine")
    url = f"/admin/correspondence/register/{entry.pk}/legal-hold/"
    page = f"/admin/correspondence/register/entries/inspect/{entry.pk}/"

    client.force_login(officer)
    assert "data-legal-hold-form" not in client.get(page).content.decode()
    assert refused(client.post(url, {"action": "place", "reason": "Mine"}))
    entry.refresh_from_db()
    assert not entry.legal_hold

    client.force_login(supervisor)
    assert "data-legal-hold-form" in client.get(page).content.decode()
    response = client.post(url, {"action": "place", "reason": ""})
    entry.refresh_from_db()
    assert response.status_code == 302 and not entry.legal_hold  # a reason is needed
    client.post(url, {"action": "place", "reason": "Ombudsman case 88"})
    entry.refresh_from_db()
    assert entry.legal_hold and entry.legal_hold_by == supervisor and entry.legal_hold_reason == "Ombudsman case 88"
    content = client.get(page).content.decode()
    assert 'data-legal-hold="entry"' in content and "Ombudsman case 88" in content

    client.force_login(officer)
    assert refused(client.post(url, {"action": "lift", "reason": "Mine"}))
    client.force_login(supervisor)
    client.post(url, {"action": "lift", "reason": "Settled"})
    entry.refresh_from_db()
    assert not entry.legal_hold and entry.legal_hold_reason == ""


def test_placing_and_lifting_holds_through_the_api(client, officer, supervisor, make_user):
    auditor = make_user("auditor", roles.AUDITORS)
    first = close(officer, register(officer, subject="Claim"))
    answer = close(officer, register(officer, subject="Re: claim", in_reply_to=first))
    url = f"{API}{first.reference}/legal-hold/"

    def as_user(user):
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"

    for user in (officer, auditor):
        as_user(user)
        response = client.post(url, {"reason": "Mine"}, content_type="application/json")
        assert response.status_code == 403, response.content
    as_user(supervisor)
    response = client.post(url, {}, content_type="application/json")
    assert response.status_code == 400 and "reason" in response.json()
    response = client.post(url, {"reason": "Subpoena 12"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["legal_hold"] is True and response.json()["placed_by"] == "supervisor"
    # The other entry of the conversation is held through it.
    other = client.post(f"{API}{answer.reference}/legal-hold/", {"reason": "x"}, content_type="application/json")
    assert other.status_code == 200 and other.json()["held"] is True
    client.delete(f"{API}{answer.reference}/legal-hold/", {"reason": "x"}, content_type="application/json")
    again = client.post(url, {"reason": "Twice"}, content_type="application/json")
    assert again.status_code == 400 and "legal_hold" in again.json()

    as_user(officer)
    assert client.delete(url, {"reason": "Mine"}, content_type="application/json").status_code == 403
    as_user(supervisor)
    response = client.delete(url + "?reason=Subpoena%20withdrawn")
    assert response.status_code == 200 and response.json()["legal_hold"] is False and response.json()["held"] is False
    assert ModelLogEntry.objects.filter(action=log_actions.REGISTER_LEGAL_HOLD_LIFTED,
                                        data__reason="Subpoena withdrawn").exists()
    # Outside the user's scope an entry does not exist.
    stranger = make_user("stranger", roles.OFFICERS)
    Permission.objects.get(codename="set_legal_hold_correspondence").user_set.add(stranger)
    as_user(stranger)
    assert client.post(url, {"reason": "x"}, content_type="application/json").status_code == 404


# The admin of retention policies -------------------------------------------------------------

def test_retention_policies_in_the_admin_are_versioned_and_for_those_allowed(client, supervisor, make_user, tree):
    base = "/admin/correspondence/register/retention-policies/"
    client.force_login(supervisor)
    assert client.get(base).status_code == 200
    response = client.post(base + "create/", {"name": "Complaints", "category": tree["complaints"].pk,
                                              "retain_years": 3, "retain_days": 0, "action": "purge",
                                              "is_active": "on"})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    created = RetentionPolicy.objects.get()
    version = Version.objects.get_for_object(created).get()
    assert version.revision.user == supervisor and version.field_dict["retain_years"] == 3
    duplicate = client.post(base + "create/", {"name": "Again", "category": tree["complaints"].pk, "retain_years": 1,
                                               "retain_days": 0, "action": "anonymise"})
    assert duplicate.status_code == 200 and RetentionPolicy.objects.count() == 1
    assert "/admin/correspondence/register/retention-policies/" in client.get("/admin/").content.decode()

    auditor = make_user("auditor", roles.AUDITORS)
    client.force_login(auditor)
    assert client.get(base).status_code == 200
    refused_post = client.post(base + "create/", {"name": "Mine", "retain_years": 1, "retain_days": 0,
                                                  "action": "purge"})
    assert refused_post.status_code in (302, 403) and RetentionPolicy.objects.count() == 1
