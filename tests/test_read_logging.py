"""Reads of personal data leave a trace: opening a customer's full record (the letter builder
in the admin, the API) and reading a register entry's history through the API are audit
log entries, shown in words in the auditors' log. Customers are not objects of the site:
a record read is logged on the user who read it, with the customer's id and how."""

import pytest
from rest_framework.authtoken.models import Token
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import Department
from wagtail_correspondence.services import register as register_service

from . import factories

API = "/api/correspondence/v1/"
LETTERS = "/admin/correspondence/letters/"
AUDIT_LOG = "/admin/correspondence/audit-log/"

pytestmark = pytest.mark.usefixtures("one_customer")


def reads(action, user):
    return list(ModelLogEntry.objects.filter(action=action, user=user).order_by("pk"))


def test_the_builders_customer_record_read_is_logged(client, agent):
    client.force_login(agent)
    response = client.get(f"{LETTERS}customers/C-1001/")
    assert response.status_code == 200 and response.json()["record"]["customer"]["last_name"] == "Peeters"
    (entry,) = reads(log_actions.CUSTOMER_RECORD_VIEWED, agent)
    assert entry.data == {"customer_id": "C-1001", "via": "admin"}
    assert entry.content_type.model_class() == type(agent) and entry.object_id == str(agent.pk)
    assert client.get(f"{LETTERS}customers/NOBODY/").status_code == 404
    assert len(reads(log_actions.CUSTOMER_RECORD_VIEWED, agent)) == 1  # no record, nothing read


def test_opening_the_builder_for_a_customer_is_a_read(client, agent, customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="short")
    template = factories.letter_template(customer_dictionary, standard_layout, [fragment], channels=["print"])
    client.force_login(agent)
    page = client.get(f"{LETTERS}new/{template.pk}/", {"customer": "C-1001"})
    assert page.status_code == 200 and "Peeters" in page.content.decode()
    (entry,) = reads(log_actions.CUSTOMER_RECORD_VIEWED, agent)
    assert entry.data == {"customer_id": "C-1001", "via": "admin"}


def test_the_apis_customer_record_read_is_logged(client, agent):
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=agent).key}"
    assert client.get(API + "customers/C-1001/").status_code == 200
    assert client.get(API + "customers/?search=peeters").status_code == 200  # summaries: not a record read
    (entry,) = reads(log_actions.CUSTOMER_RECORD_VIEWED, agent)
    assert entry.data == {"customer_id": "C-1001", "via": "api"}


def test_the_apis_history_read_is_logged_on_the_entry(client, make_user):
    department = Department.add_root(instance=Department(name="Legal", code="legal"))
    officer = make_user("officer", roles.OFFICERS)
    department.members.add(officer)
    entry = register_service.register_entry(officer, subject="Settlement", kind="letter", channel="post",
                                            department=department)
    client.force_login(officer)
    response = client.get(f"{API}correspondence/{entry.reference}/history/")
    assert response.status_code == 200 and response.json()
    (logged,) = reads(log_actions.REGISTER_HISTORY_VIEWED, officer)
    assert logged.object_id == str(entry.pk) and logged.data == {"reference": entry.reference, "via": "api"}
    # Out of scope: a 404, and nothing read.
    client.force_login(make_user("stranger", roles.OFFICERS))
    assert client.get(f"{API}correspondence/{entry.reference}/history/").status_code == 404
    assert ModelLogEntry.objects.filter(action=log_actions.REGISTER_HISTORY_VIEWED).count() == 1


def test_the_audit_log_shows_the_reads_in_words(client, agent, make_user):
    department = Department.add_root(instance=Department(name="Legal", code="legal"))
    officer = make_user("officer", roles.OFFICERS)
    department.members.add(officer)
    entry = register_service.register_entry(officer, subject="Settlement", kind="letter", channel="post",
                                            department=department)
    client.force_login(agent)
    client.get(f"{LETTERS}customers/C-1001/")
    client.force_login(officer)
    client.get(f"{API}correspondence/{entry.reference}/history/")
    client.force_login(make_user("auditor", roles.AUDITORS))
    page = client.get(AUDIT_LOG).content.decode()
    assert "Read the record of customer C-1001 (admin)" in page
    assert f"Read the history of {entry.reference} (api)" in page
