"""The API's OpenAPI schema and documentation pages: for signed-in users only, the product's
API alone (none of Wagtail's /admin/api/), grouped by resource, every operation documented."""

import json

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from wagtail_correspondence.api.openapi import TAGS

SCHEMA = reverse("wagtail_correspondence_api:schema")
JSON = "application/vnd.oai.openapi+json"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(client, make_user):
    client.force_login(make_user("ada"))
    response = client.get(SCHEMA, HTTP_ACCEPT=JSON)
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def test_anonymous_gets_no_schema_and_is_sent_to_the_login_for_the_docs(client, db):
    response = client.get(SCHEMA, HTTP_ACCEPT=JSON)
    assert response.status_code == 401 and "paths" not in response.content.decode()
    for name in ("docs",):
        url = reverse(f"wagtail_correspondence_api:{name}")
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"] == f"{reverse('wagtailadmin_login')}?next={url}", name
    script = client.get(reverse("wagtail_correspondence_api:docs") + "?script=")
    assert script.status_code == 302 and "SwaggerUIBundle" not in script.content.decode()


def test_an_api_token_reads_the_schema(client, make_user):
    token = Token.objects.create(user=make_user("integration"))
    response = client.get(SCHEMA, HTTP_ACCEPT=JSON, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and json.loads(response.content)["paths"]


def test_a_signed_in_user_reads_the_docs(client, make_user):
    client.force_login(make_user("ada"))
    for name in ("docs",):
        assert client.get(reverse(f"wagtail_correspondence_api:{name}")).status_code == 200, name


def test_the_schema_holds_the_products_api_only(schema):
    paths = list(schema["paths"])
    assert paths and not [path for path in paths if path.startswith("/admin/")]
    assert all(path.startswith("/api/correspondence/v1/") for path in paths)
    assert "/api/correspondence/v1/letters/" in paths and "/api/correspondence/v1/correspondence/" in paths


def test_every_operation_has_a_summary_a_description_and_its_resources_tag(schema):
    names = [tag["name"] for tag in TAGS]
    assert [tag["name"] for tag in schema["tags"]] == names
    undocumented = {}
    for operation_name, operation in _operations(schema):
        problems = [what for what, ok in (
            ("summary", operation.get("summary", "").strip()),
            ("description", operation.get("description", "").strip()),
            ("one tag of TAGS", len(operation.get("tags", [])) == 1 and operation["tags"][0] in names),
        ) if not ok]
        if problems:
            undocumented[operation_name] = problems
    assert undocumented == {}
    used = {operation["tags"][0] for _name, operation in _operations(schema)}
    assert used == set(names)  # no tag without operations


def test_operations_are_grouped_by_resource(schema):
    tag_of = {name: operation["tags"][0] for name, operation in _operations(schema)}
    assert tag_of["POST /api/correspondence/v1/letters/"] == "Letters"
    assert tag_of["GET /api/correspondence/v1/templates/"] == "Templates"
    assert tag_of["GET /api/correspondence/v1/customers/"] == "Customers"
    assert tag_of["POST /api/correspondence/v1/batches/{id}/start/"] == "Batches"
    assert tag_of["POST /api/correspondence/v1/correspondence/{reference}/transition/"] == "Register"
    assert tag_of["GET /api/correspondence/v1/fragments/"] == "Content"
    assert tag_of["POST /api/correspondence/v1/delivery-receipts/sns/"] == "Receipts"
    # A summary written on the view itself stays.
    assert schema["paths"]["/api/correspondence/v1/correspondence/{reference}/notes/"]["post"]["summary"] == \
        "Add a note"
