"""The register API: registering with routing, reading within the user's scope (404 outside
it, never in a list or a count), editing with history, the status machine, assignment,
notes, documents, filters and search; the admin's permissions, JSON errors naming the field."""

import datetime
import hashlib
import json

import pytest
import yaml
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.authtoken.models import Token
from reversion.models import Version
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import (
    Assignment,
    Category,
    Correspondence,
    Department,
    RoutingRule,
    Status,
)
from wagtail_correspondence.services.register import TRANSITIONS

from . import factories

API = "/api/correspondence/v1/"
URL = API + "correspondence/"


@pytest.fixture
def org(db):
    head = Department.add_root(name="Head office", code="head")
    billing = head.add_child(name="Billing", code="billing")
    head = Department.objects.get(pk=head.pk)
    claims = head.add_child(name="Claims", code="claims")
    motor = claims.add_child(name="Motor claims", code="motor")
    return {department.code: department for department in (head, billing, claims, motor)}


@pytest.fixture
def people(org, make_user):
    users = {
        "officer": make_user("officer", roles.OFFICERS),
        "billy": make_user("billy", roles.AGENTS),
        "bella": make_user("bella", roles.AGENTS),
        "clara": make_user("clara", roles.AGENTS),
        "hank": make_user("hank", roles.AGENTS),
        "sue": make_user("sue", roles.SUPERVISORS),
        "audrey": make_user("audrey", roles.AUDITORS),
    }
    org["billing"].members.add(users["officer"], users["billy"], users["bella"])
    org["claims"].members.add(users["clara"])
    org["head"].members.add(users["hank"])
    return users


@pytest.fixture
def refund_rule(org):
    return RoutingRule.objects.create(name="Refunds", keywords="refund, money back", department=org["billing"],
                                      assignment=Assignment.ROUND_ROBIN)


def as_user(client, user):
    client.force_login(user)
    return client


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def register(client, **body):
    body.setdefault("subject", "A question")
    response = post(client, URL, body)
    assert response.status_code == 201, response.content
    return response.json()


def named(response):
    """The fields a 400 names."""
    return set(response.json())


def references(response):
    assert response.status_code == 200, response.content
    return {item["reference"] for item in response.json()["results"]}


def test_register_routes_round_robin_and_returns_the_entry(client, people, refund_rule):
    token = Token.objects.create(user=people["officer"])
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    first = register(client, subject="Refund please", body="I was charged twice.", kind="complaint",
                     sender_name="Ada Peeters", sender_email="ada@example.org", customer_id="C-1001",
                     tags=["vip", "Double charge"], recipients=[{"name": "Billing", "email": "billing@example.org"}])
    assert first["reference"].startswith("IN-")
    assert first["department"] == {"code": "billing", "name": "Billing"}
    assert first["assignee"] == "officer"  # members who may work entries take turns, by id
    assert first["status"] == "assigned" and first["due_at"]
    assert first["routing_decision"]["rule"] == "Refunds"
    assert "keyword=refund" in first["routing_decision"]["matched"]
    assert first["source"] == "api" and first["channel"] == "api" and first["direction"] == "inbound"
    assert first["created_by"] == "officer" and first["tags"] == ["Double charge", "vip"]
    assert first["recipients"][0]["email"] == "billing@example.org"
    assert first["links"]["self"].endswith(f"correspondence/{first['reference']}/")
    second = register(client, subject="Money back?")
    third = register(client, subject="Where is my letter?")
    assert second["assignee"] == "billy" and second["department"]["code"] == "billing"
    assert third["department"] is None and third["assignee"] is None and third["status"] == "registered"
    assert third["routing_decision"]["rule"] is None and third["due_at"]
    entry = Correspondence.objects.get(reference=first["reference"])
    assert entry.department.code == "billing" and entry.assignee.username == first["assignee"]
    assert entry.sender_email == "ada@example.org" and entry.created_by == people["officer"]


def test_round_robin_takes_turns_among_members_who_may_work_entries(client, people, refund_rule):
    as_user(client, people["officer"])
    got = [register(client, subject=f"Refund {number}")["assignee"] for number in range(4)]
    assert got == ["officer", "billy", "bella", "officer"]


def test_explicit_department_and_assignee_replace_routing(client, people, refund_rule):
    as_user(client, people["officer"])
    both = register(client, subject="Refund for a car crash", department="claims", assignee="clara")
    assert both["department"]["code"] == "claims" and both["assignee"] == "clara" and both["status"] == "assigned"
    assert both["routing_decision"]["rule"] == "Refunds"  # what routing decided is kept
    only_department = register(client, subject="Refund for a dent", department="motor")
    assert only_department["department"]["code"] == "motor" and only_department["assignee"] is None
    assert only_department["status"] == "registered"
    only_assignee = register(client, subject="Refund", assignee="me")
    assert only_assignee["department"]["code"] == "billing" and only_assignee["assignee"] == "officer"
    assert both["routing_decision"]["given"] == ["department", "assignee"]
    assert only_assignee["routing_decision"]["given"] == ["assignee"]
    # The round-robin turn was not used up by the entry that came with its assignee.
    assert register(client, subject="Refund again")["assignee"] == "officer"

    # Registering without the assign permission: explicit routing is refused, naming the field.
    clerk = factories.user("clerk")
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["add_correspondence",
                                                                        "view_correspondence"]))
    as_user(client, clerk)
    count = Correspondence.objects.count()
    response = post(client, URL, {"subject": "Refund", "department": "claims"})
    assert response.status_code == 400 and named(response) == {"department"}
    assert "may not assign" in response.json()["department"][0]
    assert Correspondence.objects.count() == count
    assert register(client, subject="Refund")["department"]["code"] == "billing"  # routing still applies

    # An assignee who may not work entries: nothing is registered.
    as_user(client, people["officer"])
    response = post(client, URL, {"subject": "Refund", "assignee": "audrey"})
    assert response.status_code == 400 and named(response) == {"assignee"}
    assert Correspondence.objects.count() == count + 1


@pytest.mark.parametrize("body, field", [
    ({"subject": "x", "sender_email": "not-an-email"}, "sender_email"),
    ({"subject": "x", "kind": "telegram"}, "kind"),
    ({"subject": "x", "channel": "pigeon"}, "channel"),
    ({"subject": "x", "direction": "sideways"}, "direction"),
    ({"subject": "x", "department": "nope"}, "department"),
    ({"subject": "x", "category": "nope"}, "category"),
    ({"subject": "x", "assignee": "ghost"}, "assignee"),
    ({"subject": "x", "in_reply_to": "IN-1999-999999"}, "in_reply_to"),
    ({"subject": "x", "received_at": "yesterday"}, "received_at"),
    ({"subject": "x", "recipients": [{"name": "A", "email": "broken"}]}, "recipients"),
    ({"subject": "x", "recipients": [{"colour": "red"}]}, "recipients"),
    ({"subject": "x", "tags": "not-a-list"}, "tags"),
    ({"subject": "x", "priority": "asap"}, "priority"),
    ({"subject": "x", "status": "closed"}, "status"),
    ({"subject": "x", "colour": "red"}, "colour"),
    ({"body": "no subject"}, "subject"),
    ({"subject": ""}, "subject"),
])
def test_bad_fields_are_named_and_nothing_is_registered(client, people, body, field):
    as_user(client, people["officer"])
    response = post(client, URL, body)
    assert response.status_code == 400, response.content
    assert named(response) == {field}, response.json()
    assert not Correspondence.objects.exists()


@pytest.mark.parametrize("query, field", [
    ("received_after=not-a-date", "received_after"),
    ("received_before=2025-13-45", "received_before"),
    ("status=registered,flying", "status"),
    ("department=nope", "department"),
    ("category=nope", "category"),
    # assignee=ghost finds nothing, as any name out of sight does (tests/test_username_oracle.py)
    ("overdue=maybe", "overdue"),
    ("direction=up", "direction"),
])
def test_bad_filters_are_named(client, people, query, field):
    as_user(client, people["officer"])
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 400, response.content
    assert field in named(response), response.json()


def test_scope_hides_entries_outside_the_users_departments(client, people):
    as_user(client, people["sue"])
    claim = register(client, subject="Windscreen broken", department="motor")["reference"]
    secret = register(client, subject="Fraud suspicion", department="claims", confidentiality="secret")["reference"]
    billing = register(client, subject="Invoice", department="billing")["reference"]

    # Claims sees its subtree, but not the strictly confidential entry.
    as_user(client, people["clara"])
    listing = client.get(URL)
    assert references(listing) == {claim} and listing.json()["count"] == 1
    assert client.get(f"{URL}{claim}/").status_code == 200
    assert client.get(f"{URL}{secret}/").status_code == 404
    # Billing sees neither, and learns nothing about them: 404 on every route, not 403.
    as_user(client, people["billy"])
    assert references(client.get(URL)) == {billing} and client.get(URL).json()["count"] == 1
    for reference in (claim, secret):
        assert client.get(f"{URL}{reference}/").status_code == 404
        assert patch(client, f"{URL}{reference}/", {"subject": "Mine now"}).status_code == 404
        assert post(client, f"{URL}{reference}/transition/", {"action": "close", "reason": "x"}).status_code == 404
        assert post(client, f"{URL}{reference}/assign/", {"assignee": "me"}).status_code == 404
        assert post(client, f"{URL}{reference}/notes/", {"text": "hello"}).status_code == 404
        assert client.get(f"{URL}{reference}/history/").status_code == 404
    assert references(client.get(f"{URL}?q=windscreen")) == set()
    # The head office sees every department below it, still without the secret one.
    as_user(client, people["hank"])
    assert references(client.get(URL)) == {claim, billing}
    assert references(client.get(f"{URL}?department=claims")) == {claim}
    # Supervisors see everything; auditors too (read only).
    for name in ("sue", "audrey"):
        as_user(client, people[name])
        assert references(client.get(URL)) == {claim, secret, billing}
        assert client.get(f"{URL}{secret}/").json()["confidentiality"] == "secret"
    # The assignee of a secret entry sees it without the clearance.
    as_user(client, people["sue"])
    assert post(client, f"{URL}{secret}/assign/", {"assignee": "clara"}).status_code == 200
    as_user(client, people["clara"])
    assert client.get(f"{URL}{secret}/").status_code == 200
    assert references(client.get(URL)) == {claim, secret}


def test_thread_lists_only_what_the_user_may_see(client, people):
    as_user(client, people["sue"])
    first = register(client, subject="Claim", department="claims")["reference"]
    reply = register(client, subject="Re: Claim, the invoice", in_reply_to=first, department="billing")
    assert reply["in_reply_to"] == first
    assert [item["reference"] for item in reply["thread"]] == [first, reply["reference"]]
    as_user(client, people["billy"])
    detail = client.get(f"{URL}{reply['reference']}/").json()
    assert [item["reference"] for item in detail["thread"]] == [reply["reference"]]
    # Replying to an entry one may not see is as if it did not exist.
    as_user(client, people["officer"])
    response = post(client, URL, {"subject": "Re", "in_reply_to": first})
    assert response.status_code == 400 and named(response) == {"in_reply_to"}


def test_auditors_read_but_every_write_is_forbidden(client, people, refund_rule):
    as_user(client, people["officer"])
    reference = register(client, subject="Refund")["reference"]
    before = Correspondence.objects.get(reference=reference)
    versions = Version.objects.get_for_object(before).count()
    as_user(client, people["audrey"])
    assert client.get(URL).status_code == 200
    detail = client.get(f"{URL}{reference}/").json()
    assert detail["reference"] == reference and detail["available_actions"] == []
    viewed = ModelLogEntry.objects.filter(object_id=str(before.pk), action=log_actions.REGISTER_VIEWED)
    assert [(item.user, item.data["via"]) for item in viewed] == [(people["audrey"], "api")]
    upload = SimpleUploadedFile("note.txt", b"hello", content_type="text/plain")
    writes = [
        post(client, URL, {"subject": "Audit"}),
        post(client, URL, {"subject": ""}),  # 403 before any validation
        patch(client, f"{URL}{reference}/", {"subject": "Audited"}),
        post(client, f"{URL}{reference}/transition/", {"action": "start"}),
        post(client, f"{URL}{reference}/assign/", {"assignee": "me"}),
        post(client, f"{URL}{reference}/notes/", {"text": "Looked at it"}),
        client.post(f"{URL}{reference}/attachments/", {"file": upload}),
        client.put(f"{URL}{reference}/", data="{}", content_type="application/json"),
        client.delete(f"{URL}{reference}/"),
    ]
    assert [response.status_code for response in writes] == [403] * 7 + [405, 405]
    after = Correspondence.objects.get(reference=reference)
    assert (after.subject, after.status, after.assignee_id) == (before.subject, before.status, before.assignee_id)
    assert Version.objects.get_for_object(after).count() == versions
    assert Correspondence.objects.count() == 1 and not after.notes.exists() and not after.attachments.exists()


def test_anonymous_and_users_without_the_register_get_refused(client, people):
    assert client.get(URL).status_code == 401
    as_user(client, factories.user("nobody", roles.CONTENT_AUTHORS))
    assert client.get(URL).status_code == 403


def test_transitions_through_the_whole_life_of_an_entry(client, people, refund_rule):
    as_user(client, people["officer"])
    reference = register(client, subject="Refund")["reference"]
    entry = Correspondence.objects.get(reference=reference)
    as_user(client, entry.assignee)
    url = f"{URL}{reference}/transition/"
    detail = client.get(f"{URL}{reference}/").json()
    assert [item["action"] for item in detail["available_actions"]] == ["start", "close"]

    def move(body, expected):
        response = post(client, url, body)
        assert response.status_code == 200, response.content
        assert response.json()["status"] == expected
        assert Correspondence.objects.get(pk=entry.pk).status == expected
        return response.json()

    move({"action": "start"}, "in_progress")
    waiting = move({"action": "await_customer"}, "awaiting_customer")
    assert waiting["sla"]["paused_at"] and not waiting["is_overdue"]
    assert [item["action"] for item in waiting["available_actions"]] == ["resume", "respond", "close"]
    move({"action": "resume"}, "in_progress")
    responded = move({"action": "respond"}, "responded")
    assert responded["responded_at"]
    move({"action": "close"}, "closed")

    response = post(client, url, {"action": "reopen"})
    assert response.status_code == 400 and named(response) == {"reason"}
    assert Correspondence.objects.get(pk=entry.pk).status == Status.CLOSED
    reopened = move({"action": "reopen", "reason": "The customer wrote again"}, "assigned")
    assert reopened["closed_at"] is None
    move({"status": "in_progress"}, "in_progress")
    response = post(client, url, {"action": "close"})
    assert response.status_code == 400 and named(response) == {"reason"}  # closing unanswered needs a reason
    move({"action": "close", "reason": "Duplicate"}, "closed")
    history = client.get(f"{URL}{reference}/history/").json()
    assert history[0]["comment"].endswith(": Duplicate") and history[0]["user"] == entry.assignee.username


def test_every_forbidden_transition_is_refused_and_changes_nothing(client, people, refund_rule):
    as_user(client, people["officer"])
    reference = register(client, subject="Refund")["reference"]
    entry = Correspondence.objects.get(reference=reference)
    url = f"{URL}{reference}/transition/"
    checked = 0
    for source in Status:
        for target in Status:
            if target in TRANSITIONS[source]:
                continue
            Correspondence.objects.filter(pk=entry.pk).update(status=source)
            response = post(client, url, {"status": target.value, "reason": "Because"})
            assert response.status_code == 409, (source, target, response.content)
            assert "status" in response.json() and response.json()["detail"]
            assert Correspondence.objects.get(pk=entry.pk).status == source
            checked += 1
        if source != Status.CLOSED:
            response = post(client, url, {"action": "reopen", "reason": "Because"})
            assert response.status_code == 409 and "status" in response.json()
            assert Correspondence.objects.get(pk=entry.pk).status == source
    assert checked == len(Status) ** 2 - sum(len(targets) for targets in TRANSITIONS.values()) == 21
    for body, field in [({}, "action"), ({"action": "fly"}, "action"), ({"status": "lost"}, "status"),
                        ({"action": "start", "status": "closed"}, "action"), ({"action": "start", "x": 1}, "x")]:
        response = post(client, url, body)
        assert response.status_code == 400 and field in named(response), (body, response.content)


def test_assign(client, people, refund_rule):
    as_user(client, people["officer"])
    reference = register(client, subject="Where is my letter?")["reference"]
    url = f"{URL}{reference}/assign/"
    moved = post(client, url, {"department": "claims", "assignee": "clara", "reason": "About a claim"})
    assert moved.status_code == 200, moved.content
    assert moved.json()["department"]["code"] == "claims" and moved.json()["assignee"] == "clara"
    assert moved.json()["status"] == "assigned"
    entry = Correspondence.objects.get(reference=reference)
    assert entry.assignee == people["clara"]
    revision = Version.objects.get_for_object(entry).first().revision
    assert revision.user == people["officer"] and revision.comment.endswith(": About a claim")
    cleared = post(client, url, {"assignee": None})
    assert cleared.json()["assignee"] is None and cleared.json()["status"] == "registered"
    assert cleared.json()["department"]["code"] == "claims"  # left out: unchanged
    for body, field in [({}, "assignee"), ({"department": "nope"}, "department"), ({"assignee": "ghost"}, "assignee"),
                        ({"assignee": "audrey"}, "assignee"), ({"assignee": "clara", "colour": 1}, "colour")]:
        response = post(client, url, body)
        assert response.status_code == 400 and field in named(response), (body, response.content)

    # An agent takes an unassigned entry of her department, but hands nothing to others.
    as_user(client, people["officer"])
    unassigned = register(client, subject="Question", department="billing")["reference"]
    as_user(client, people["billy"])
    assert post(client, f"{URL}{unassigned}/assign/", {"assignee": "bella"}).status_code == 403
    taken = post(client, f"{URL}{unassigned}/assign/", {"assignee": "me"})
    assert taken.status_code == 200 and taken.json()["assignee"] == "billy"


def test_patch_changes_fields_with_a_version_and_refuses_the_rest(client, people, org):
    Category.add_root(name="Complaints", code="complaints")
    as_user(client, people["officer"])
    reference = register(client, subject="Old subject", department="billing")["reference"]
    url = f"{URL}{reference}/"
    response = patch(client, url, {"subject": "New subject", "priority": "high", "category": "complaints",
                                   "tags": ["urgent"], "comment": "The customer called"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["subject"] == "New subject" and body["priority"] == "high" and body["tags"] == ["urgent"]
    assert body["category"] == {"code": "complaints", "name": "Complaints"}
    entry = Correspondence.objects.get(reference=reference)
    assert entry.subject == "New subject"
    revision = Version.objects.get_for_object(entry).first().revision
    assert revision.user == people["officer"] and revision.comment == "The customer called"
    assert Version.objects.get_for_object(entry).first().field_dict["subject"] == "New subject"

    for payload, field in [({"status": "closed"}, "status"), ({"department": "claims"}, "department"),
                           ({"reference": "IN-1"}, "reference"), ({"routing_decision": {}}, "routing_decision"),
                           ({"colour": "red"}, "colour"), ({"sender_email": "nope"}, "sender_email"),
                           ({"category": "nope"}, "category"), ({"kind": "telegram"}, "kind"),
                           ({"subject": ""}, "subject"), ({}, "non_field_errors")]:
        response = patch(client, url, payload)
        assert response.status_code == 400 and named(response) == {field}, (payload, response.content)
    assert "transition" in patch(client, url, {"status": "closed"}).json()["status"][0]
    assert patch(client, url, {"reference": "IN-1"}).json() == {"reference": ["This field cannot be set here."]}
    assert patch(client, url, {"colour": "red"}).json() == {"colour": ["Unknown field."]}
    assert Correspondence.objects.get(reference=reference).subject == "New subject"

    # The deadline needs the assign permission.
    due = (timezone.now() + datetime.timedelta(days=3)).replace(microsecond=0)
    as_user(client, people["billy"])
    assert patch(client, url, {"due_at": due.isoformat()}).status_code == 403
    assert patch(client, url, {"sender_name": "Ada"}).status_code == 200
    as_user(client, people["officer"])
    response = patch(client, url, {"due_at": due.isoformat()})
    assert response.status_code == 200 and Correspondence.objects.get(reference=reference).due_at == due


def test_overdue_filter(client, people):
    as_user(client, people["sue"])
    refs = {name: register(client, subject=name, department="billing")["reference"]
            for name in ("late", "on_time", "closed_late", "waiting_late", "no_deadline")}
    past, future = timezone.now() - datetime.timedelta(hours=1), timezone.now() + datetime.timedelta(days=2)
    Correspondence.objects.filter(reference=refs["late"]).update(due_at=past)
    Correspondence.objects.filter(reference=refs["on_time"]).update(due_at=future)
    Correspondence.objects.filter(reference=refs["closed_late"]).update(due_at=past, status=Status.CLOSED)
    Correspondence.objects.filter(reference=refs["waiting_late"]).update(
        due_at=past, status=Status.AWAITING_CUSTOMER, sla_paused_at=past)
    Correspondence.objects.filter(reference=refs["no_deadline"]).update(due_at=None)
    overdue = client.get(f"{URL}?overdue=true")
    assert references(overdue) == {refs["late"]} and overdue.json()["count"] == 1
    assert overdue.json()["results"][0]["is_overdue"] is True
    assert references(client.get(f"{URL}?overdue=false")) == set(refs.values()) - {refs["late"]}
    # Out of scope, an overdue entry is not counted.
    as_user(client, people["clara"])
    assert client.get(f"{URL}?overdue=true").json()["count"] == 0


def test_list_filters_search_and_order(client, people, refund_rule, org):
    root = Category.add_root(name="Complaints", code="complaints")
    root.add_child(name="Delays", code="delays")
    as_user(client, people["sue"])
    refund = register(client, subject="Refund for invoice 77", sender_email="ada@example.org", customer_id="C-1001",
                      received_at="2025-03-01T10:00:00Z")
    delay = register(client, subject="Late payment", body="The transfer is delayed", department="motor",
                     category="delays", received_at="2025-04-01T10:00:00Z", customer_id="C-2002")
    outgoing = register(client, subject="Our answer", direction="outbound", department="billing",
                        recipients=[{"name": "Bo", "email": "bo@example.org"}])
    Correspondence.objects.filter(reference=delay["reference"]).update(status=Status.IN_PROGRESS)

    listing = client.get(URL).json()
    assert [item["reference"] for item in listing["results"]] == [
        outgoing["reference"], delay["reference"], refund["reference"]]  # newest first
    assert listing["count"] == 3 and listing["results"][0]["party"] == "Bo"
    assert {item["reference"] for item in client.get(f"{URL}?limit=1").json()["results"]} == {outgoing["reference"]}

    def found(query):
        return references(client.get(f"{URL}?{query}"))

    assert found("q=refund") == {refund["reference"]}
    assert found("q=INVOICE+77") == {refund["reference"]}
    assert found("q=refund+delayed") == set()  # every word must match
    assert found("q=delayed") == {delay["reference"]}  # the body
    assert found("q=ada@example") == {refund["reference"]}
    assert found(f"q={delay['reference'][-6:]}") == {delay["reference"]}
    assert refund["status"] == "assigned" and outgoing["status"] == "registered"
    assert found("status=in_progress,registered") == {delay["reference"], outgoing["reference"]}
    assert found("status=assigned") == {refund["reference"]}
    assert found("department=claims") == {delay["reference"]}
    assert found("department=billing") == {refund["reference"], outgoing["reference"]}
    assert found("category=complaints") == {delay["reference"]}
    assert found("direction=outbound") == {outgoing["reference"]}
    assert found("customer_id=C-2002") == {delay["reference"]}
    assert found("received_after=2025-03-15") == {delay["reference"]}
    assert found("received_before=2025-03-15T00:00:00Z") == {refund["reference"]}
    assert found(f"assignee={refund['assignee']}") == {refund["reference"]}
    as_user(client, Correspondence.objects.get(reference=refund["reference"]).assignee)
    assert found("assignee=me") == {refund["reference"]}


def test_notes_documents_and_history(client, people, refund_rule):
    as_user(client, people["officer"])
    reference = register(client, subject="Refund")["reference"]
    note = post(client, f"{URL}{reference}/notes/", {"text": "Called the customer"})
    assert note.status_code == 201 and note.json()["author"] == "officer"
    assert post(client, f"{URL}{reference}/notes/", {"text": "  "}).status_code == 400
    content = b"%PDF-1.4 scanned letter"
    upload = client.post(f"{URL}{reference}/attachments/", {
        "file": SimpleUploadedFile("scan.pdf", content, content_type="application/pdf"), "title": "Scan"})
    assert upload.status_code == 201, upload.content
    document = upload.json()
    assert document["version"] == 1 and document["versions"] == 1 and document["title"] == "Scan"
    assert document["sha256"] == hashlib.sha256(content).hexdigest() and document["size"] == len(content)
    assert document["content_type"] == "application/pdf"
    second = client.post(f"{URL}{reference}/attachments/", {
        "file": SimpleUploadedFile("scan2.txt", b"plain text version"), "attachment": document["id"],
        "comment": "Better scan"})
    assert second.status_code == 201 and second.json()["version"] == 2 and second.json()["versions"] == 2
    assert second.json()["content_type"] == "text/plain"
    refused = client.post(f"{URL}{reference}/attachments/", {
        "file": SimpleUploadedFile("virus.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff\x00\x00")})
    assert refused.status_code == 400 and named(refused) == {"file"}
    assert client.post(f"{URL}{reference}/attachments/", {}).status_code == 400
    detail = client.get(f"{URL}{reference}/").json()
    assert [item["text"] for item in detail["notes"]] == ["Called the customer"]
    assert [(item["title"], item["version"], item["versions"]) for item in detail["attachments"]] == [("Scan", 2, 2)]
    history = client.get(f"{URL}{reference}/history/")
    assert history.status_code == 200 and history.json()[-1]["comment"] == "Registered"
    assert all(item["user"] == "officer" for item in history.json())


def test_schema_documents_the_register_endpoints(client, people):
    as_user(client, people["officer"])
    schema = yaml.safe_load(client.get(API + "schema/").content)
    for path in ("correspondence/", "correspondence/{reference}/", "correspondence/{reference}/transition/",
                 "correspondence/{reference}/assign/", "correspondence/{reference}/notes/",
                 "correspondence/{reference}/attachments/", "correspondence/{reference}/history/"):
        assert f"/api/correspondence/v1/{path}" in schema["paths"], path
    listing = schema["paths"]["/api/correspondence/v1/correspondence/"]
    names = {parameter["name"] for parameter in listing["get"]["parameters"]}
    assert {"status", "department", "assignee", "overdue", "direction", "q", "received_after"} <= names
    assert "409" in schema["paths"]["/api/correspondence/v1/correspondence/{reference}/transition/"]["post"][
        "responses"]
    components = schema["components"]["schemas"]
    assert "RegisterStatusEnum" in components and "in_progress" in components["RegisterStatusEnum"]["enum"]
    assert components["StatusEnum"]["enum"] == ["draft", "generated"]  # the letters' enum keeps its name


def test_a_retried_registration_with_an_idempotency_key_registers_once(client, people):
    as_user(client, people["officer"])
    body = {"subject": "Letter from the ombudsman", "sender_email": "ombuds@example.org"}
    first = client.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="intake-42")
    again = client.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="intake-42")
    assert first.status_code == 201 and again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json()["reference"] == first.json()["reference"]
    assert Correspondence.objects.count() == 1
    other = client.post(URL, {**body, "subject": "Something else"}, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="intake-42")
    assert other.status_code == 409 and "Idempotency-Key" in other.json()
    assert Correspondence.objects.count() == 1
    # Keys belong to their user: another user's same key is a new entry.
    as_user(client, people["sue"])
    assert client.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="intake-42").status_code == 201
    assert Correspondence.objects.count() == 2
