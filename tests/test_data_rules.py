"""Rules across a letter's data, on the data dictionary and on the template: each kind of rule,
the problem it names, and the same refusal in the builder, the API, generation and a batch's
dry run (row number, field, message)."""

import copy
import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.authtoken.models import Token

from wagtail_correspondence import data_rules, schema
from wagtail_correspondence.data_rules import RuleSpec
from wagtail_correspondence.models import DictionaryRule, Letter, TemplateRule
from wagtail_correspondence.services import batches
from wagtail_correspondence.services import letters as letter_service

from . import factories
from .test_batches import make_batch

LETTER_DATE = datetime.date(2026, 12, 5)
INDEX = schema.FieldIndex.from_specs([
    schema.FieldSpec("balance", "Outstanding balance", schema.MONEY),
    schema.FieldSpec("due_date", "Due date", schema.DATE),
    schema.FieldSpec("issued_on", "Issued on", schema.DATE),
    schema.FieldSpec("letter_type", "Letter type", schema.TEXT),
    schema.FieldSpec("reason", "Reason", schema.TEXT),
    schema.FieldSpec("customer.vip", "VIP", schema.BOOLEAN),
    schema.FieldSpec("invoices", "Invoices", schema.LIST),
    schema.FieldSpec("invoices.amount", "Invoice amount", schema.MONEY),
])


def problems(rule, **data):
    return [(problem.field, problem.message, problem.misconfigured)
            for problem in data_rules.evaluate([rule], data, LETTER_DATE, INDEX)]


def test_compare_to_a_value():
    rule = RuleSpec(data_rules.COMPARE_VALUE, "balance", data_rules.GT, value="0")
    assert problems(rule, balance=Decimal("0.01")) == []
    assert problems(rule, balance=Decimal("0.00")) == [
        ("balance", "Outstanding balance must be greater than 0.", False)]
    assert problems(rule, balance=Decimal("-5")) and problems(rule) == []  # absent: the dictionary's business
    custom = RuleSpec(data_rules.COMPARE_VALUE, "balance", data_rules.LTE, value="1000", message="Too much.")
    assert problems(custom, balance=Decimal("1000.01")) == [("balance", "Too much.", False)]
    text = RuleSpec(data_rules.COMPARE_VALUE, "letter_type", data_rules.NE, value="test")
    assert problems(text, letter_type="test") and not problems(text, letter_type="real")
    boolean = RuleSpec(data_rules.COMPARE_VALUE, "customer.vip", data_rules.EQ, value="no")
    assert problems(boolean, customer={"vip": True}) and not problems(boolean, customer={"vip": False})


def test_compare_to_the_letter_date_with_days():
    after = RuleSpec(data_rules.COMPARE_LETTER_DATE, "due_date", data_rules.GT)
    assert problems(after, due_date=datetime.date(2026, 12, 6)) == []
    assert problems(after, due_date=LETTER_DATE) == [("due_date", "Due date must be after the letter's date.", False)]
    fortnight = RuleSpec(data_rules.COMPARE_LETTER_DATE, "due_date", data_rules.GTE, value="14")
    assert problems(fortnight, due_date=datetime.date(2026, 12, 19)) == []
    assert problems(fortnight, due_date=datetime.date(2026, 12, 18)) == [
        ("due_date", "Due date must be on or after the letter's date + 14 days.", False)]


def test_compare_to_another_field():
    rule = RuleSpec(data_rules.COMPARE_FIELD, "due_date", data_rules.GT, other_field="issued_on")
    assert problems(rule, due_date=datetime.date(2026, 12, 2), issued_on=datetime.date(2026, 12, 1)) == []
    assert problems(rule, due_date=datetime.date(2026, 12, 1), issued_on=datetime.date(2026, 12, 1)) == [
        ("due_date", "Due date must be after Issued on.", False)]
    assert problems(rule, due_date=datetime.date(2026, 12, 1)) == []  # nothing to compare to


def test_required_if():
    rule = RuleSpec(data_rules.REQUIRED_IF, "reason", data_rules.EQ, other_field="letter_type", value="refusal")
    assert problems(rule, letter_type="refusal") == [
        ("reason", "Reason is required when Letter type is given.", False)]
    assert problems(rule, letter_type="refusal", reason="Late") == []
    assert problems(rule, letter_type="acceptance") == []
    any_value = RuleSpec(data_rules.REQUIRED_IF, "reason", other_field="letter_type", message="Say why.")
    assert problems(any_value, letter_type="anything") == [("reason", "Say why.", False)]
    assert problems(any_value) == []


def test_a_rule_that_cannot_be_applied_refuses_instead_of_passing():
    for rule in [RuleSpec(data_rules.COMPARE_VALUE, "nope", data_rules.GT, value="0", origin="Rule 1"),
                 RuleSpec(data_rules.COMPARE_VALUE, "balance", data_rules.GT, value="zero", origin="Rule 1"),
                 RuleSpec(data_rules.COMPARE_LETTER_DATE, "balance", data_rules.GT, origin="Rule 1"),
                 RuleSpec(data_rules.COMPARE_VALUE, "letter_type", data_rules.GT, value="a", origin="Rule 1"),
                 RuleSpec(data_rules.COMPARE_VALUE, "invoices.amount", data_rules.GT, value="0", origin="Rule 1")]:
        found = problems(rule, balance=Decimal("1"), letter_type="x", nope=1, invoices=[{"amount": Decimal("1")}])
        assert len(found) == 1 and found[0][0] == "template" and found[0][2] and "Rule 1" in found[0][1], rule


def test_the_admin_form_refuses_a_rule_missing_its_parts():
    rule = DictionaryRule(kind=data_rules.COMPARE_FIELD, field="Due Date", operator=data_rules.GT)
    with pytest.raises(ValidationError) as error:
        rule.clean()
    assert set(error.value.message_dict) == {"field", "other_field"}
    with pytest.raises(ValidationError) as error:
        TemplateRule(kind=data_rules.COMPARE_LETTER_DATE, field="due_date", value="soon").clean()
    assert set(error.value.message_dict) == {"value"}


# On the models, through every path that makes a letter ------------------------------------------


@pytest.fixture
def template(customer_dictionary, standard_layout):
    """A payment reminder refusing a balance of 0 or less, on a dictionary that wants the due
    date after the letter's date."""
    customer_dictionary.rules.add(DictionaryRule(kind=data_rules.COMPARE_LETTER_DATE, field="due_date",
                                                 operator=data_rules.GT))
    customer_dictionary.save()
    customer_dictionary.save_revision()
    fragment = factories.fragment(customer_dictionary, key="reminder",
                                  html="<p>Dear {{ customer.first_name }}, you owe {{ balance|money }}.</p>")
    page = factories.letter_template(customer_dictionary, standard_layout, [fragment], publish=False)
    page.data_rules.add(TemplateRule(kind=data_rules.COMPARE_VALUE, field="balance", operator=data_rules.GT,
                                     value="0", message="Nothing is due: no reminder for 0 or less."))
    page.save_revision().publish()
    page.refresh_from_db()
    return page


@pytest.fixture(autouse=True)
def two_customers(customers):
    owing, square = copy.deepcopy(factories.SAMPLE_DATA), copy.deepcopy(factories.SAMPLE_DATA)
    future = (datetime.date.today() + datetime.timedelta(days=20)).isoformat()
    owing["due_date"] = square["due_date"] = future
    square["customer"].update(id="C-2", first_name="Bo", full_name="Bo Peeters")
    square["balance"] = "0.00"
    customers(owing, square)


def test_generation_refuses_naming_the_field(agent, template):
    request = letter_service.LetterRequest(template=template, customer_id="C-2")
    with pytest.raises(letter_service.LetterError) as error:
        letter_service.generate_letter(agent, request)
    assert [(p.field, p.message, p.kind) for p in error.value.problems] == [
        ("balance", "Nothing is due: no reminder for 0 or less.", "rule")]
    past = letter_service.LetterRequest(template=template, customer_id="C-1001", data={"due_date": "2020-01-01"})
    with pytest.raises(letter_service.LetterError) as error:
        letter_service.generate_letter(agent, past)
    assert [(p.field, p.kind) for p in error.value.problems] == [("due_date", "rule")]
    assert "after the letter's date" in error.value.problems[0].message
    assert not Letter.objects.exists()
    letter = letter_service.generate_letter(agent, letter_service.LetterRequest(template=template,
                                                                                customer_id="C-1001"))
    assert letter.reference


def test_the_builder_preview_shows_the_rule_as_a_problem(client, agent, template):
    client.force_login(agent)
    url = reverse("wagtail_correspondence_letters:preview", args=[template.pk])
    body = client.post(url, {"customer_id": "C-2", "channel": "print"}).json()
    assert body["can_generate"] is False
    assert {"field": "balance", "message": "Nothing is due: no reminder for 0 or less.", "kind": "rule"} in body[
        "missing"]
    assert client.post(url, {"customer_id": "C-1001", "channel": "print"}).json()["can_generate"] is True


def test_the_api_refuses_with_the_field(client, agent, template):
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=agent).key}"
    response = client.post("/api/correspondence/v1/letters/", data=json.dumps(
        {"template": template.pk, "customer_id": "C-2"}), content_type="application/json")
    assert response.status_code == 400
    assert {"field": "balance", "message": "Nothing is due: no reminder for 0 or less.", "kind": "rule"} in [
        {key: item.get(key) for key in ("field", "message", "kind")} for item in response.json()["errors"]]


def test_the_dry_run_reports_each_broken_rule_by_row(agent, template, django_capture_on_commit_callbacks):
    content = ("customer_id,balance,due_date\n"
               "C-1001,10.00,\n"          # row 1: fine
               "C-1001,0.00,\n"           # row 2: the template's rule
               "C-1001,10.00,2020-01-01\n"  # row 3: the dictionary's rule
               "C-2,,\n")                 # row 4: the record's balance is 0.00
    batch = make_batch(agent, template, django_capture_on_commit_callbacks, content=content)
    batch.refresh_from_db()
    assert (batch.report["valid"], batch.report["errors"]) == (1, 3)
    assert [(item["row"], item["field"], item["kind"]) for item in batch.report["error_rows"]] == [
        (2, "balance", "rule"), (3, "due_date", "rule"), (4, "balance", "rule")]
    assert batch.report["error_rows"][0]["message"] == "Nothing is due: no reminder for 0 or less."
    with django_capture_on_commit_callbacks(execute=True):
        batches.start_batch(agent, batch)
    assert Letter.objects.count() == 1  # the refused rows were never generated


def test_rules_are_edited_in_the_admin(admin_client, template, customer_dictionary):
    dictionary_page = admin_client.get(reverse("wagtailsnippets_wagtail_correspondence_datadictionary:edit",
                                               args=[customer_dictionary.pk])).content.decode()
    assert "Data rules" in dictionary_page and 'name="rules-0-field"' in dictionary_page
    page = admin_client.get(reverse("wagtailadmin_pages:edit", args=[template.pk])).content.decode()
    assert "Template rules" in page and 'name="data_rules-0-value"' in page and 'value="0"' in page


def form_values(html, holding):
    """The values a browser would submit from the page's form that holds the field ``holding``."""
    from bs4 import BeautifulSoup

    form = BeautifulSoup(html, "html.parser").select_one(f"input[name='{holding}']").find_parent("form")
    data = {}
    for element in form.select("input[name], textarea[name], select[name]"):
        name = element["name"]
        if element.name == "textarea":
            data[name] = element.text
        elif element.name == "select":
            chosen = element.select_one("option[selected]") or element.select_one("option")
            data[name] = chosen.get("value", "") if chosen else ""
        elif element.get("type") in ("checkbox", "radio"):
            if element.has_attr("checked"):
                data[name] = element.get("value", "on")
        elif element.get("type") not in ("submit", "button", "file"):
            data[name] = element.get("value", "")
    return data


def test_a_rule_added_in_the_dictionary_editor_is_checked_and_saved(admin_client, customer_dictionary):
    url = reverse("wagtailsnippets_wagtail_correspondence_datadictionary:edit", args=[customer_dictionary.pk])
    data = form_values(admin_client.get(url).content.decode(), "rules-TOTAL_FORMS")
    count = int(data["rules-TOTAL_FORMS"])
    rule = {"field": "Due Date", "kind": data_rules.COMPARE_FIELD, "operator": data_rules.GT, "other_field": "",
            "value": "", "message": "", "ORDER": str(count + 1), "id": "", "DELETE": ""}
    data.update({f"rules-{count}-{key}": value for key, value in rule.items()}, **{"rules-TOTAL_FORMS": count + 1})
    refused = admin_client.post(url, {key: value for key, value in data.items() if value != "" or "DELETE" not in key})
    assert refused.status_code == 200 and "Use the dotted name of a data field" in refused.content.decode()
    assert not DictionaryRule.objects.exists()
    data.update({f"rules-{count}-field": "due_date", f"rules-{count}-other_field": "invoices.due_date",
                 f"rules-{count}-kind": data_rules.COMPARE_LETTER_DATE})
    saved = admin_client.post(url, {key: value for key, value in data.items() if value != "" or "DELETE" not in key})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert list(DictionaryRule.objects.values_list("field", "kind", "operator")) == [
        ("due_date", data_rules.COMPARE_LETTER_DATE, data_rules.GT)]
    customer_dictionary.refresh_from_db()
    latest = customer_dictionary.latest_revision.as_object()
    assert [rule.field for rule in latest.rules.all()] == ["due_date"]  # in the revision letters read
