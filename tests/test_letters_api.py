"""The letter API: customers, templates, preview, letters with idempotency, PDFs; the same
permissions as the admin, and JSON errors naming the field."""

import copy
import hashlib
import json

import pytest
import yaml
from rest_framework.authtoken.models import Token

from wagtail_correspondence import roles
from wagtail_correspondence.models import Department, Letter

from . import factories

API = "/api/correspondence/v1/"


@pytest.fixture(autouse=True)
def two_customers(customers):
    other = copy.deepcopy(factories.SAMPLE_DATA)
    other["customer"].update(id="C-2002", full_name="Bo Janssens", first_name="Bo", last_name="Janssens",
                             email="bo@example.org")
    customers(factories.SAMPLE_DATA, other)


@pytest.fixture
def token_client(client, agent):
    token = Token.objects.create(user=agent)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    return client


@pytest.fixture
def template(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary, key="greeting")
    body = factories.template_body(
        ("fragment", greeting),
        ("agent_slot", {"name": "note", "label": "Note", "help": "", "required": True, "max_length": 50,
                        "default_text": ""}))
    return factories.letter_template(customer_dictionary, standard_layout, [], body=body, channels=["print", "sms"],
                                     sms_text="Hello {{ customer.first_name }}")


def post(client, url, body, **headers):
    return client.post(API + url, data=json.dumps(body), content_type="application/json", **headers)


def test_customers_search_and_record(token_client):
    results = token_client.get(API + "customers/?search=janssens").json()["results"]
    assert [customer["id"] for customer in results] == ["C-2002"]
    assert token_client.get(API + "customers/C-1001/").json()["customer"]["last_name"] == "Peeters"
    assert token_client.get(API + "customers/NOPE/").status_code == 404
    assert token_client.get(API + "customers/?limit=x").status_code == 400


def test_templates_list_live_ones_with_slots_and_schema(token_client, template, customer_dictionary, standard_layout):
    factories.letter_template(customer_dictionary, standard_layout, [], title="Draft template", publish=False,
                              body=factories.template_body())
    items = token_client.get(API + "templates/").json()
    assert [item["title"] for item in items] == ["Payment reminder"]
    item = items[0]
    assert item["slots"][0]["name"] == "note" and item["slots"][0]["required"] is True
    assert item["channels"] == ["print", "sms"]
    assert item["data_dictionary"]["json_schema"]["properties"]["customer"]["properties"]["first_name"]


def test_preview_returns_every_output_and_saves_nothing(token_client, template):
    response = post(token_client, "letters/preview/", {"template": template.pk, "customer_id": "C-1001",
                                                       "slots": {"note": "Hi <b>there</b>"}, "channel": "sms"})
    body = response.json()
    assert response.status_code == 200, body
    assert body["can_generate"] is True and body["missing"] == []
    assert "Dear Ada," in body["html"] and "Hi &lt;b&gt;there&lt;/b&gt;" in body["html"]
    assert body["sms"] == {"text": "Hello Ada", "encoding": "GSM-7", "length": 9, "units": 9, "segments": 1}
    assert body["email"]["text"].strip().startswith("Dear Ada,")
    assert body["fragments"][0]["key"] == "greeting"
    assert not Letter.objects.exists()


def test_preview_lists_missing_fields_with_data_overriding_the_record(token_client, template):
    response = post(token_client, "letters/preview/", {"template": template.pk, "customer_id": "C-1001",
                                                       "data": {"customer": {"email": "broken"}}, "slots": {}})
    body = response.json()
    assert body["can_generate"] is False
    assert {item["field"] for item in body["missing"]} == {"customer.email", "slots.note"}


def test_create_is_idempotent_and_returns_links(token_client, template, agent):
    payload = {"template": template.pk, "customer_id": "C-2002", "slots": {"note": "See you."}}
    first = post(token_client, "letters/", payload, HTTP_IDEMPOTENCY_KEY="order-77")
    assert first.status_code == 201, first.json()
    letter = first.json()
    assert letter["reference"].startswith("OUT-") and letter["status"] == "generated"
    assert letter["links"]["pdf"].endswith(f"letters/{letter['reference']}/pdf/")
    assert letter["revisions"]["template"] == template.live_revision_id
    assert letter["fragments"][0]["key"] == "greeting" and letter["created_by"] == "agent"
    again = post(token_client, "letters/", payload, HTTP_IDEMPOTENCY_KEY="order-77")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["reference"] == letter["reference"] and Letter.objects.count() == 1
    conflict = post(token_client, "letters/", {**payload, "slots": {"note": "Other"}}, HTTP_IDEMPOTENCY_KEY="order-77")
    assert conflict.status_code == 409
    assert post(token_client, "letters/", payload).json()["reference"] != letter["reference"]  # no key: new letter


def test_get_letter_and_its_pdf(token_client, template):
    reference = post(token_client, "letters/", {"template": template.pk, "customer_id": "C-1001",
                                                "slots": {"note": "x"}}).json()["reference"]
    detail = token_client.get(API + f"letters/{reference}/").json()
    assert detail["reference"] == reference and detail["data"]["customer"]["id"] == "C-1001"
    response = token_client.get(API + f"letters/{reference}/pdf/")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert content.startswith(b"%PDF") and hashlib.sha256(content).hexdigest() == detail["pdf_sha256"]
    assert response["X-Content-SHA256"] == detail["pdf_sha256"]
    assert token_client.get(API + "letters/OUT-1999-999999/").status_code == 404
    listing = token_client.get(API + "letters/?status=generated").json()
    assert [item["reference"] for item in listing["results"]] == [reference]
    # Reading a letter (personal data) is in the audit log, once per read.
    from wagtail.models import ModelLogEntry

    letter = Letter.objects.get(reference=reference)
    viewed = ModelLogEntry.objects.filter(object_id=str(letter.pk), action="wagtail_correspondence.letter.viewed")
    assert viewed.count() == 1 and viewed.get().data["via"] == "api"


def test_errors_name_the_field_and_never_500(token_client, template):
    cases = [
        ({}, "template"),
        ({"template": 999999, "customer_id": "C-1001"}, "template"),
        ({"template": template.pk}, "customer_id"),
        ({"template": template.pk, "customer_id": "NOPE"}, "customer_id"),
        ({"template": template.pk, "data": ["not", "an", "object"]}, "data"),
        ({"template": template.pk, "customer_id": "C-1001", "slots": {"note": "x" * 51}}, "slots.note"),
        ({"template": template.pk, "customer_id": "C-1001", "slots": {"note": "x"}, "channel": "email"}, "channel"),
        ({"template": template.pk, "customer_id": "C-1001", "slots": {"note": "x"}, "channel": "pigeon"}, "channel"),
        ({"template": template.pk, "customer_id": "C-1001", "slots": "text"}, "slots"),
    ]
    for body, field in cases:
        response = post(token_client, "letters/", body)
        assert response.status_code == 400, (body, response.content)
        payload = response.json()
        named = {item["field"] for item in payload["errors"]} if "errors" in payload else set(payload)
        assert field in named, (body, payload)
    assert post(token_client, "letters/", "not json at all").status_code == 400
    assert not Letter.objects.exists()


def test_drafts_through_the_api(token_client, template):
    created = post(token_client, "letters/", {"template": template.pk, "customer_id": "C-1001", "status": "draft"})
    assert created.status_code == 201 and created.json()["reference"] is None
    key = created.json()["id"]
    patched = token_client.patch(API + f"letters/{key}/", data=json.dumps({"slots": {"note": "Later"}}),
                                 content_type="application/json")
    assert patched.status_code == 200 and patched.json()["slots"] == {"note": "Later"}
    generated = post(token_client, f"letters/{key}/generate/", {})
    assert generated.status_code == 201 and generated.json()["reference"].startswith("OUT-")
    assert token_client.delete(API + f"letters/{generated.json()['reference']}/").status_code == 409
    draft = post(token_client, "letters/", {"template": template.pk, "customer_id": "C-1001", "status": "draft"})
    assert token_client.delete(API + f"letters/{draft.json()['id']}/").status_code == 204


def test_roles(client, template, make_user):
    author = make_user("author", roles.CONTENT_AUTHORS)
    client.force_login(author)
    assert client.get(API + "customers/").status_code == 403
    assert client.get(API + "templates/").status_code == 403
    assert post(client, "letters/preview/", {"template": template.pk, "customer_id": "C-1001"}).status_code == 403
    assert post(client, "letters/", {"template": template.pk, "customer_id": "C-1001"}).status_code == 403
    client.logout()
    assert client.get(API + "letters/").status_code == 401

    agent = make_user("agent", roles.AGENTS)
    other = make_user("agent2", roles.AGENTS)
    client.force_login(agent)
    key = post(client, "letters/", {"template": template.pk, "customer_id": "C-1001", "status": "draft"}).json()["id"]
    client.force_login(other)
    # Outside the writer's department the draft does not exist for the other agent; inside
    # it, it may be read but only its writer changes it.
    response = client.patch(API + f"letters/{key}/", data=json.dumps({"slots": {"note": "mine"}}),
                            content_type="application/json")
    assert response.status_code == 404
    billing = Department.add_root(name="Billing", code="billing")
    billing.members.add(agent, other)
    Letter.objects.filter(uuid=key).update(department=billing)
    assert client.get(API + f"letters/{key}/").status_code == 200
    response = client.patch(API + f"letters/{key}/", data=json.dumps({"slots": {"note": "mine"}}),
                            content_type="application/json")
    assert response.status_code == 403
    auditor = make_user("auditor", roles.AUDITORS)
    client.force_login(auditor)
    assert client.get(API + "letters/").status_code == 200
    assert post(client, "letters/", {"template": template.pk, "customer_id": "C-1001"}).status_code == 403


def test_schema_documents_the_letter_endpoints(token_client):
    schema = yaml.safe_load(token_client.get(API + "schema/").content)
    for path in ("customers/", "templates/", "letters/", "letters/preview/", "letters/{key}/",
                 "letters/{key}/pdf/", "letters/{key}/generate/"):
        assert f"/api/correspondence/v1/{path}" in schema["paths"], path
    parameters = schema["paths"]["/api/correspondence/v1/letters/"]["post"]["parameters"]
    assert any(parameter["name"] == "Idempotency-Key" for parameter in parameters)
