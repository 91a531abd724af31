"""Data dictionaries: definition checks, JSON Schema export, payload validation naming each field."""

import jsonschema
import pytest

from wagtail_correspondence import schema
from wagtail_correspondence.schema import FieldSpec

from . import factories

SPECS = [FieldSpec(name, label, kind, required) for name, label, kind, required in factories.CUSTOMER_FIELDS]


def errors_by_path(data):
    return {error.path: error.message for error in schema.validate_payload(SPECS, data)}


def sample():
    import copy

    return copy.deepcopy(factories.SAMPLE_DATA)


def test_sample_payload_is_valid():
    assert schema.validate_payload(SPECS, sample()) == []


def test_each_bad_field_is_named():
    data = sample()
    data["customer"]["email"] = "not-an-email"
    data["customer"]["phone"] = "call me"
    data["balance"] = "twelve"
    data["due_date"] = "15/12/2026"
    data["customer"]["vip"] = "yes"
    data["invoices"][1]["amount"] = "1.005"
    del data["invoices"][0]["number"]
    del data["customer"]["last_name"]
    errors = errors_by_path(data)
    assert set(errors) == {
        "customer.email", "customer.phone", "balance", "due_date", "customer.vip", "invoices[1].amount",
        "invoices[0].number", "customer.last_name",
    }
    assert errors["customer.last_name"] == "Last name is required"
    assert "email address" in errors["customer.email"]
    assert "two decimals" in errors["invoices[1].amount"]
    assert "YYYY-MM-DD" in errors["due_date"]


def test_address_is_structured():
    data = sample()
    data["customer"]["address"] = {"line1": "", "city": "Brussels", "planet": "Earth"}
    assert "unknown address parts: planet" in errors_by_path(data)["customer.address"]
    data["customer"]["address"] = "Rue de la Loi 16, Brussels"
    assert "must be an address" in errors_by_path(data)["customer.address"]


def test_payload_must_be_an_object():
    assert [str(e) for e in schema.validate_payload(SPECS, ["x"])] == ["(root): data must be a JSON object"]


def test_optional_fields_may_be_absent_but_list_items_are_checked():
    data = sample()
    del data["invoices"]
    del data["due_date"]
    assert errors_by_path(data) == {}
    data["invoices"] = "none"
    assert errors_by_path(data) == {"invoices": "Open invoices must be a list of records"}


def test_json_schema_accepts_valid_and_rejects_invalid_payloads():
    document = schema.json_schema(SPECS, title="Customer")
    jsonschema.Draft202012Validator.check_schema(document)
    validator = jsonschema.Draft202012Validator(document, format_checker=jsonschema.FormatChecker())
    validator.validate(sample())
    assert document["properties"]["invoices"]["type"] == "array"
    assert set(document["properties"]["invoices"]["items"]["properties"]) == {"number", "amount", "due_date"}
    assert "number" in document["properties"]["invoices"]["items"]["required"]
    assert document["properties"]["customer"]["properties"]["first_name"]["title"] == "First name"
    broken = sample()
    del broken["customer"]["first_name"]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)
    broken = sample()
    broken["invoices"] = [{"amount": "1.00"}]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


@pytest.mark.parametrize("specs, message", [
    ([FieldSpec("Customer.Name")], "not a valid field name"),
    ([FieldSpec("a"), FieldSpec("a")], "used twice"),
    ([FieldSpec("name", type="text"), FieldSpec("name.first")], "cannot sit under 'name'"),
])
def test_dictionary_definition_problems(specs, message):
    problems = schema.check_field_specs(specs)
    assert problems and message in str(problems[0][2])


def test_field_index_explains_unknown_paths():
    index = schema.FieldIndex.from_specs(SPECS)
    assert index.explain_path("customer.first_name") is None
    assert index.explain_path("customer") is None
    assert index.explain_path("customer.address.city") is None
    assert index.explain_path("invoices.amount") is None
    assert "unknown merge field 'customer.frist_name'" in str(index.explain_path("customer.frist_name"))
    assert "not part of an address" in str(index.explain_path("customer.address.planet"))
    assert "not a sub-field of the list 'invoices'" in str(index.explain_path("invoices.colour"))
    assert "has no part" in str(index.explain_path("balance.cents"))


def test_model_validates_payloads_and_rejects_bad_definitions(customer_dictionary):
    from django.core.exceptions import ValidationError

    from wagtail_correspondence.models import DataField

    assert customer_dictionary.validate_payload(sample()) == []
    assert customer_dictionary.json_schema()["title"] == "Customer"
    customer_dictionary.fields.add(DataField(name="balance", label="Duplicate", field_type="money"))
    with pytest.raises(ValidationError, match="used twice"):
        customer_dictionary.full_clean()


def test_coerce_payload_types_values_for_conditions():
    import datetime
    from decimal import Decimal

    typed = schema.coerce_payload(SPECS, sample())
    assert typed["balance"] == Decimal("250.00")
    assert typed["due_date"] == datetime.date(2026, 12, 15)
    assert typed["invoices"][1]["amount"] == Decimal("50.00")
    assert typed["customer"]["first_name"] == "Ada"
    broken = sample()
    broken["balance"] = "twelve"
    assert schema.coerce_payload(SPECS, broken)["balance"] == "twelve"
    assert sample()["balance"] == "250.00"  # the input is not changed
