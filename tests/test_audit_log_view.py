"""Auditors browse, export and verify the whole audit log in the admin; nobody else does, and
Wagtail's site history (which would show officers the history of entries outside their
scope) leads there too."""

import csv
import io

import pytest
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import Department
from wagtail_correspondence.services import register as register_service

AUDIT_LOG = "/admin/correspondence/audit-log/"


@pytest.fixture
def world(make_user):
    legal = Department.add_root(name="Legal", code="legal")
    complaints = Department.add_root(name="Complaints", code="complaints")
    lawyer = make_user("lawyer", roles.OFFICERS)
    legal.members.add(lawyer)
    officer = make_user("officer", roles.OFFICERS)
    complaints.members.add(officer)
    secret = register_service.register_entry(lawyer, subject="Settlement talks with Brouwer", kind="letter",
                                             channel="post", department=legal)
    return {"lawyer": lawyer, "officer": officer, "auditor": make_user("auditor", roles.AUDITORS),
            "secret": secret}


def refused(response):
    return response.status_code == 403 or (response.status_code == 302 and response["Location"] == "/admin/")


def test_auditors_read_every_entry_of_the_log(client, world):
    client.force_login(world["auditor"])
    page = client.get(AUDIT_LOG)
    assert page.status_code == 200
    assert world["secret"].reference in page.content.decode()
    assert "/admin/correspondence/audit-log/" in client.get("/admin/").content.decode()


def test_others_are_refused_and_the_site_history_leads_to_the_audit_log(client, world):
    client.force_login(world["officer"])
    assert refused(client.get(AUDIT_LOG))
    assert refused(client.get(AUDIT_LOG + "?export=csv"))
    assert refused(client.post(AUDIT_LOG + "verify/"))
    history = client.get("/admin/reports/site-history/", follow=True)
    assert world["secret"].reference not in history.content.decode()
    assert history.redirect_chain[0][0].startswith(AUDIT_LOG)
    assert "/admin/correspondence/audit-log/" not in client.get("/admin/").content.decode()
    assert "/admin/reports/site-history/" not in client.get("/admin/").content.decode()


def test_an_export_holds_the_log_and_is_logged_itself(client, world):
    client.force_login(world["auditor"])
    response = client.get(AUDIT_LOG + "?export=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert any(world["secret"].reference in " ".join(row) for row in rows[1:])
    exported = ModelLogEntry.objects.filter(action=log_actions.AUDIT_LOG_EXPORTED)
    assert exported.count() == 1 and exported.get().user == world["auditor"]
    assert exported.get().data["format"] == "csv"


def test_verify_reports_an_intact_chain_and_a_broken_one(client, world):
    client.force_login(world["auditor"])
    page = client.post(AUDIT_LOG + "verify/", follow=True).content.decode()
    assert "The audit log is intact" in page
    ModelLogEntry.objects.filter(object_id=str(world["secret"].pk)).update(label="nothing to see")
    page = client.post(AUDIT_LOG + "verify/", follow=True).content.decode()
    assert "NOT intact" in page


def test_entries_read_as_sentences_with_their_details(client, world, make_user):
    from wagtail_correspondence.services import retention

    supervisor = make_user("supervisor", roles.SUPERVISORS)
    retention.place_legal_hold(world["secret"], supervisor, "Case 2026/LIT/7")
    client.force_login(world["auditor"])
    page = client.get(AUDIT_LOG).content.decode()
    assert "Legal hold placed: Case 2026/LIT/7" in page
    assert f"Registered {world['secret'].reference}" in page


def test_verify_checks_the_checkpoints_too(client, world):
    """The button runs what the command runs: a chain recomputed with the key after a
    checkpoint is reported with the checkpoint's time; the page says how many were checked."""
    from wagtail_correspondence.audit_keys import keyring
    from wagtail_correspondence.services import audit

    from .audit_attacks import edit_and_rechain

    checkpoint = audit.write_checkpoint()
    client.force_login(world["auditor"])
    page = client.post(AUDIT_LOG + "verify/", follow=True).content.decode()
    assert "The audit log is intact" in page and "1 checkpoint checked" in page
    entry = ModelLogEntry.objects.filter(object_id=str(world["secret"].pk)).first()
    edit_and_rechain(entry, key=keyring().first, label="nothing to see")
    page = client.post(AUDIT_LOG + "verify/", follow=True).content.decode()
    assert "NOT intact" in page and checkpoint.when in page


def test_auditors_filter_the_whole_log_by_user_action_and_type(client, world):
    from bs4 import BeautifulSoup
    from django.contrib.contenttypes.models import ContentType

    from wagtail_correspondence.models import Correspondence

    register_service.register_entry(world["officer"], subject="Refund request from Peeters", kind="letter",
                                    channel="post", department=Department.objects.get(code="complaints"))
    client.force_login(world["auditor"])
    form = BeautifulSoup(client.get(AUDIT_LOG).content, "html.parser")
    users = {field["value"] for field in form.select("input[name=user]")}
    actions = {field["value"] for field in form.select("input[name=action]")}
    types = {option["value"] for option in form.select("select[name=object_type] option, input[name=object_type]")}
    # Every user and action in the log, though an auditor holds no permission on register entries.
    assert {str(world["lawyer"].pk), str(world["officer"].pk)} <= users
    assert log_actions.REGISTER_CREATED in actions
    entry_type = ContentType.objects.get_for_model(Correspondence)
    assert str(entry_type.pk) in types, (users, types)

    by_lawyer = client.get(AUDIT_LOG, {"user": world["lawyer"].pk}).content.decode()
    assert world["secret"].reference in by_lawyer and "Peeters" not in by_lawyer
    created = client.get(AUDIT_LOG, {"action": log_actions.REGISTER_CREATED, "object_type": entry_type.pk})
    assert "Peeters" in created.content.decode() and world["secret"].reference in created.content.decode()


def test_the_export_gives_times_in_the_sites_zone(client, world):
    from django.utils import timezone

    client.force_login(world["auditor"])
    rows = list(csv.DictReader(io.StringIO(b"".join(
        client.get(AUDIT_LOG + "?export=csv").streaming_content).decode("utf-8-sig"))))
    stamp = ModelLogEntry.objects.filter(object_id=str(world["secret"].pk)).order_by("timestamp").first().timestamp
    assert timezone.localtime(stamp).strftime("%Y-%m-%d %H:%M:%S") in {row["Date/Time"] for row in rows}
    assert not any("+00:00" in row["Date/Time"] for row in rows)
