"""Odd input answers 400 naming the field, never a 500, and saves nothing: JSON nested a few
thousand levels deep (Python's parser gives up with RecursionError) on every API endpoint
that takes a body, in batch files (JSON Lines lines, JSON cells of CSV files), in the letter
builder and in the admin's JSON form fields; CSV cells beyond the csv module's 128 KB and
beyond the product's own bound; numbers too long for Python to convert."""

import copy
import json

import pytest
from django import forms
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.urls import get_resolver
from rest_framework.parsers import JSONParser
from rest_framework.views import APIView
from wagtail.admin.forms.models import formfield_for_dbfield

from wagtail_correspondence import json_limits
from wagtail_correspondence.api.parsers import BoundedJSONParser
from wagtail_correspondence.models import BatchRow, Correspondence, Letter, LetterBatch, SlaPolicy
from wagtail_correspondence.services import batches
from wagtail_correspondence.services import letters as letter_service

from . import factories

API = "/api/correspondence/v1/"
LETTERS = "/admin/correspondence/letters/"
DEEP = 5000  # far past Python's recursion limit
LIMIT = 32  # the default of WAGTAIL_CORRESPONDENCE["INPUT_LIMITS"]["JSON_MAX_DEPTH"]


def nested(levels, key="a", leaf="1"):
    """``{"a": {"a": ... 1 ...}}`` as text, ``levels`` objects deep."""
    return f'{{"{key}":' * levels + leaf + "}" * levels


def deep_body(prefix, levels=DEEP):
    """A JSON body whose field ``prefix`` (dotted) holds an object nested ``levels`` deep."""
    text = nested(levels)
    for part in reversed(prefix.split(".")):
        text = f'{{"{part}": {text}}}'
    return text


@pytest.fixture
def template(one_customer, customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary, key="greeting")
    return factories.letter_template(customer_dictionary, standard_layout, [greeting], channels=["print"])


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def post_raw(client, url, text, method="post"):
    return getattr(client, method)(API + url, data=text, content_type="application/json")


def assert_names_the_field(response, field_start):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    fields = [name for name in body if name.startswith(field_start)]
    assert fields, body
    message = " ".join(body[fields[0]])
    assert f"nested more than {LIMIT} levels" in message.lower(), message
    assert body["detail"].startswith(f"{fields[0]}: nested more than {LIMIT} levels")
    return fields[0]


# The API ---------------------------------------------------------------------------------

def test_letters_and_preview_refuse_deep_data_naming_the_field(agent_client, template):
    text = deep_body("data.customer").replace("{", f'{{"template": {template.pk}, "channel": "print", ', 1)
    for url in ("letters/", "letters/preview/"):
        field = assert_names_the_field(post_raw(agent_client, url, text), "data.customer.a.a.a")
        # The body is level 1, data 2, customer 3: the first object past the limit is level 33.
        assert field == "data.customer" + ".a" * (LIMIT - 2)
    assert not Letter.objects.exists()


def test_a_draft_change_refuses_deep_data(agent_client, agent, template):
    draft = letter_service.save_draft(agent, letter_service.LetterRequest(template=template, customer_id="C-1001"))
    response = post_raw(agent_client, f"letters/{draft.uuid}/", deep_body("slots"), method="patch")
    assert_names_the_field(response, "slots.a.a")
    draft.refresh_from_db()
    assert draft.slot_values == {}


def test_the_register_refuses_deep_input_naming_the_field(client, make_user):
    client.force_login(make_user("root", superuser=True))
    text = deep_body("recipients").replace("{", '{"subject": "Deep", "kind": "letter", "channel": "post", ', 1)
    assert_names_the_field(post_raw(client, "correspondence/", text), "recipients.a.a")
    # Arrays name their index.
    text = '{"subject": "Deep", "tags": ' + "[" * DEEP + "]" * DEEP + "}"
    assert assert_names_the_field(post_raw(client, "correspondence/", text), "tags[0]").startswith("tags[0][0][0]")
    assert not Correspondence.objects.exists()


def test_validating_a_payload_refuses_deep_data(agent_client, customer_dictionary):
    response = post_raw(agent_client, f"data-dictionaries/{customer_dictionary.pk}/validate/",
                        deep_body("data.customer"))
    assert_names_the_field(response, "data.customer.a.a")


def test_data_within_the_limit_is_read_as_before(agent_client, customer_dictionary):
    response = post_raw(agent_client, f"data-dictionaries/{customer_dictionary.pk}/validate/",
                        deep_body("data.extra", levels=LIMIT - 2))
    assert response.status_code == 400 and "errors" in response.json()  # the dictionary's own verdict
    response = post_raw(agent_client, f"data-dictionaries/{customer_dictionary.pk}/validate/",
                        json.dumps({"data": factories.SAMPLE_DATA}))
    assert response.status_code == 200, response.content


def test_delivery_receipts_refuse_deep_json_before_anything_else(client):
    response = client.post(API + "delivery-receipts/sns/", data=nested(DEEP), content_type="text/plain")
    assert response.status_code == 400 and "nested more than" in response.json()["detail"]


def test_numbers_too_long_to_convert_are_a_parse_error(agent_client, template):
    response = post_raw(agent_client, "letters/preview/", '{"template": %d, "data": {"balance": %s}}' % (
        template.pk, "9" * 5000))
    assert response.status_code == 400


def test_every_api_view_parses_json_with_the_bounded_parser():
    """A view added later with DRF's plain JSON parser fails here."""
    def views(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from views(pattern.url_patterns)
            else:
                yield getattr(pattern.callback, "cls", None)

    api = [view for view in views(get_resolver().url_patterns)
           if view is not None and issubclass(view, APIView) and view.__module__.startswith("wagtail_correspondence.")]
    assert len(api) >= 10
    for view in api:
        plain = [parser for parser in view.parser_classes
                 if issubclass(parser, JSONParser) and not issubclass(parser, BoundedJSONParser)]
        assert not plain, view


# Batch files -----------------------------------------------------------------------------

def upload(name, content):
    return SimpleUploadedFile(name, content.encode("utf-8") if isinstance(content, str) else content)


def test_a_deep_json_lines_line_is_a_row_error_naming_the_field():
    content = ('{"customer_id": "C-1001"}\n'
               + deep_body("data.customer") + "\n"
               + '{"data": {"invoices": [' + "[" * DEEP + "]" * DEEP + "]}}\n")
    rows = dict(batches.parse_jsonl(content.encode()))
    assert rows[1]["errors"] == []
    (error,) = rows[2]["errors"]
    assert error["field"] == "data.customer" + ".a" * (LIMIT - 2) and f"more than {LIMIT} levels" in error["message"]
    assert rows[2]["data"] == {}
    assert rows[3]["errors"][0]["field"].startswith("data.invoices[0][0][0]")


def test_a_deep_json_cell_of_a_csv_file_is_a_row_error_naming_the_column():
    content = "customer_id,invoices\nC-1001,\"" + ("[" * DEEP + "]" * DEEP) + "\"\nC-1001,\"[]\"\n"
    rows = dict(batches.parse_csv(content.encode()))
    (error,) = rows[1]["errors"]
    assert error["field"].startswith("invoices[0][0]") and f"more than {LIMIT} levels" in error["message"]
    assert rows[2]["errors"] == [] and rows[2]["data"] == {"invoices": []}


def test_a_column_name_nested_past_the_limit_refuses_the_file():
    column = ".".join(["a"] * (LIMIT + 1))
    with pytest.raises(batches.BatchFileError, match=f"nested more than {LIMIT} levels"):
        list(batches.parse_csv(f"customer_id,{column}\nC-1001,1\n".encode()))


def test_a_huge_csv_cell_names_its_row_and_column():
    big = "x" * (200 * 1024)  # past the csv module's own 128 KB limit
    content = f"customer_id,slot.note\nC-1001,short\nC-1002,{big}\n"
    rows = dict(batches.parse_csv(content.encode()))
    assert rows[2]["slots"]["note"] == big  # within the product's bound: read as any cell
    limit = json_limits.csv_max_cell_chars()
    content = f"customer_id,slot.note\nC-1001,short\nC-1002,{'x' * (limit + 1)}\n"
    with pytest.raises(batches.BatchFileError) as raised:
        list(batches.parse_csv(content.encode()))
    assert "Row 2" in str(raised.value) and "slot.note" in str(raised.value), raised.value
    # An unclosed quote swallows the rest of the file into one cell: the same clear answer.
    content = 'customer_id,slot.note\nC-1001,"never closed\n' + ("line\n" * (limit // 5 + 10))
    with pytest.raises(batches.BatchFileError, match="Row 1"):
        list(batches.parse_csv(content.encode()))


def test_the_csv_modules_limit_is_put_back_after_reading():
    import csv

    before = csv.field_size_limit()
    list(batches.parse_csv(b"customer_id\nC-1001\n"))
    assert csv.field_size_limit() == before


def test_batch_uploads_answer_400_and_save_nothing(agent_client, template, client):
    huge = "customer_id,slot.note\nC-1001," + "x" * (json_limits.csv_max_cell_chars() + 1) + "\n"
    response = agent_client.post(API + "batches/", {"template": template.pk, "file": upload("big.csv", huge)})
    assert response.status_code == 400 and "Row 1" in response.json()["file"][0]
    response = agent_client.post(LETTERS + "batches/new/", {"template": template.pk, "file": upload("big.csv", huge)})
    assert response.status_code == 200 and "Row 1" in response.content.decode()
    assert not LetterBatch.objects.exists()
    # A deep line is a row error in the report, the rest of the file is read.
    lines = '{"customer_id": "C-1001"}\n' + deep_body("data.customer") + "\n"
    response = agent_client.post(API + "batches/", {"template": template.pk, "file": upload("deep.jsonl", lines)})
    assert response.status_code == 201, response.content
    row = BatchRow.objects.get(row_number=2)
    assert row.status == "error" and row.errors[0]["field"].startswith("data.customer.a.a")


# The letter builder and the admin's JSON fields ------------------------------------------

def test_the_builder_and_its_preview_refuse_deep_pasted_data(agent_client, template):
    form = {"customer_id": "C-1001", "channel": "print", "data_json": nested(DEEP)}
    response = agent_client.post(f"{LETTERS}preview/{template.pk}/", form)
    assert response.status_code == 400
    (problem,) = response.json()["missing"]
    assert problem["field"] == "data_json" and f"more than {LIMIT} levels" in problem["message"]
    assert "a.a.a" in problem["message"]
    response = agent_client.post(f"{LETTERS}new/{template.pk}/", {**form, "action": "generate"})
    assert response.status_code == 400 and f"more than {LIMIT} levels" in response.content.decode()
    list_field = {"customer_id": "C-1001", "channel": "print", "field:invoices": "[" * DEEP + "]" * DEEP}
    response = agent_client.post(f"{LETTERS}preview/{template.pk}/", list_field)
    assert response.status_code == 400 and response.json()["missing"][0]["field"] == "field:invoices"
    response = agent_client.post(f"{LETTERS}preview/{template.pk}/", {**form, "data_json": '{"balance": %s}' % (
        "9" * 5000)})
    assert response.status_code == 400 and response.json()["missing"][0]["field"] == "data_json"
    assert not Letter.objects.exists()


def test_admin_forms_refuse_deep_json_before_the_view(client, make_user, customer_dictionary):
    """Wagtail's own widgets parse JSON (the rich text editor's content state): a crafted post
    was a 500 in the fragment editor. The middleware answers 400 naming the field and where."""
    fragment = factories.fragment(customer_dictionary, key="greeting")
    revision = fragment.latest_revision_id
    client.force_login(make_user("root", superuser=True))
    state = ('{"blocks": [{"key": "a", "text": "x", "type": "unstyled", "depth": 0, "inlineStyleRanges": [], '
             '"entityRanges": [], "data": ' + nested(DEEP) + '}], "entityMap": {}}')
    response = client.post(f"/admin/correspondence/fragments/edit/{fragment.pk}/", {
        "title": "Greeting", "key": "greeting", "body-count": "1", "body-0-type": "rich_text", "body-0-order": "0",
        "body-0-deleted": "", "body-0-id": "x", "body-0-value": state})
    assert response.status_code == 400
    assert response.content.decode().startswith("body-0-value.blocks[0].data.a.a.a") and f"more than {LIMIT}" in (
        response.content.decode())
    fragment.refresh_from_db()
    assert fragment.latest_revision_id == revision  # nothing saved
    response = client.post("/admin/correspondence/register/sla-policies/create/", {
        "name": "Deep", "priority": "", "response_time": "5", "unit": "working_days",
        "reminder_percentages": "[" * DEEP + "]" * DEEP, "escalation_interval_hours": "8", "is_active": "on"})
    assert response.status_code == 400 and response.content.decode().startswith("reminder_percentages[0][0]")
    assert not SlaPolicy.objects.exists()


def test_json_form_fields_refuse_deep_input_themselves(settings):
    """Where the middleware is not installed (another project, Django's admin), the form field
    answers as a form does."""
    field = json_limits.BoundedJSONFormField()
    with pytest.raises(forms.ValidationError, match=f"nested more than {LIMIT} levels"):
        field.clean("[" * DEEP + "]" * DEEP)
    with pytest.raises(forms.ValidationError):
        field.clean("9" * 5000)  # too long for Python to convert: invalid, not a server error
    assert field.clean("[[1]]") == [[1]]
    assert isinstance(field.bound_data("[" * DEEP + "]" * DEEP, None), str)  # shown back as typed


def test_a_check_warns_while_the_middleware_is_missing(settings):
    from django.core import checks

    def ids():
        return {message.id for message in checks.run_checks(tags=[checks.Tags.security])}

    assert "wagtail_correspondence.W032" not in ids()
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if "BoundedJSONFormMiddleware" not in name]
    assert "wagtail_correspondence.W032" in ids()


def test_every_json_model_field_gets_the_bounded_form_field():
    from wagtail_correspondence.models.fields import EncryptedJSONField

    found = []
    for model in apps.get_app_config("wagtail_correspondence").get_models():
        for field in model._meta.get_fields():
            if isinstance(field, (models.JSONField, EncryptedJSONField)) and field.editable:
                form_field = formfield_for_dbfield(field)
                if isinstance(form_field, forms.JSONField):  # not the channels' checkboxes
                    found.append(field)
                    assert isinstance(form_field, json_limits.BoundedJSONFormField), field
    assert len(found) >= 5, found


def test_the_depth_check_names_paths_as_written():
    with pytest.raises(json_limits.JSONTooDeep) as raised:
        json_limits.loads('{"x": [1, {"k\\"ey": [[[[]]]]}]}', limit=4)
    assert raised.value.path == 'x[1]["k\\"ey"][0]'
    assert json_limits.loads('{"a": "[[[[[[[[[[[["}', limit=2) == {"a": "[[[[[[[[[[[["}  # text is text
    with pytest.raises(ValueError):
        json_limits.loads('{"a": "never closed [[[[[[[[', limit=2)
    assert json_limits.loads(nested(LIMIT)) == json.loads(nested(LIMIT))
    value = copy.deepcopy(json.loads(nested(LIMIT)))
    json_limits.check_value(value)
    with pytest.raises(json_limits.JSONTooDeep):
        json_limits.check_value({"b": value})
