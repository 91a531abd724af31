"""The API base (schema, docs, auth, JSON errors) and each role's access to the content library."""

import io
import re

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token

from wagtail_correspondence import roles

from . import factories

API = "/api/correspondence/v1/"


def test_schema_and_docs_are_served_locally(client, agent):
    client.force_login(agent)
    schema = yaml.safe_load(client.get(API + "schema/").content)
    assert schema["openapi"].startswith("3.")
    for path in ("fragments/", "data-dictionaries/{id}/validate/", "departments/", "layouts/", "me/"):
        assert f"/api/correspondence/v1/{path}" in schema["paths"], path
    docs = client.get(API + "docs/").content.decode()
    assert "swagger-ui" in docs
    # Every script and stylesheet is served from this site (the sidecar), none from a CDN.
    sources = re.findall(r'(?:src|href)="([^"]+)"', docs)
    assert sources and all(source.startswith("/") for source in sources), sources


def test_token_from_the_management_command_authenticates(client, agent):
    out = io.StringIO()
    call_command("drf_create_token", "agent", stdout=out)
    token = Token.objects.get(user=agent).key
    assert token in out.getvalue()
    response = client.get(API + "me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.json()["username"] == "agent" and response.json()["groups"] == [roles.AGENTS]
    assert client.get(API + "me/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_anonymous_and_unknown_urls_get_json(client, db):
    response = client.get(API + "fragments/")
    assert response.status_code in (401, 403) and "detail" in response.json()
    client.force_login(factories.user("someone"))
    response = client.get(API + "no-such-thing/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_fragments_list_only_usable_ones_with_usage(client, agent, customer_dictionary, standard_layout):
    live = factories.fragment(customer_dictionary, key="live-one")
    factories.fragment(customer_dictionary, key="draft-one", publish=False)
    page = factories.letter_template(customer_dictionary, standard_layout, [live])
    client.force_login(agent)
    keys = [item["key"] for item in client.get(API + "fragments/").json()["results"]]
    assert keys == ["live-one"]
    assert {item["key"] for item in client.get(API + "fragments/?status=all").json()["results"]} == {
        "live-one", "draft-one"}
    detail = client.get(API + "fragments/live-one/").json()
    assert detail["used_in_templates"] == [{"id": page.pk, "title": page.title, "live": True}]


def test_validate_names_each_bad_field(client, agent, customer_dictionary):
    client.force_login(agent)
    url = f"{API}data-dictionaries/{customer_dictionary.pk}/validate/"
    ok = client.post(url, {"data": factories.SAMPLE_DATA}, content_type="application/json")
    assert ok.status_code == 200 and ok.json() == {"valid": True}
    bad = dict(factories.SAMPLE_DATA, balance="lots", invoices=[{"number": "X", "amount": "1.001"}])
    response = client.post(url, {"data": bad}, content_type="application/json")
    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {"balance", "invoices[0].amount"}
    # The shape letter checks answer with (README: "Errors are JSON and name the field").
    assert {error["kind"] for error in response.json()["errors"]} == {"data"}
    response = client.post(url, {}, content_type="application/json")
    assert response.status_code == 400 and "data" in response.json()
    detail = client.get(f"{API}data-dictionaries/{customer_dictionary.pk}/").json()
    assert detail["json_schema"]["properties"]["balance"]["title"] == "Outstanding balance"


def test_users_without_view_permission_are_refused(client, customer_dictionary):
    client.force_login(factories.user("nobody"))
    assert client.get(API + "fragments/").status_code == 403
    assert client.post(f"{API}data-dictionaries/{customer_dictionary.pk}/validate/", {"data": {}},
                       content_type="application/json").status_code == 403


FRAGMENTS = "wagtailsnippets_wagtail_correspondence_fragment"
EXPECTED = {
    # role: (can list, can add, can edit, can withdraw: the publish permission; publishing itself
    # is the review workflow's, for every role: tests/test_four_eyes.py)
    roles.CONTENT_AUTHORS: (True, True, True, False),
    roles.CONTENT_REVIEWERS: (True, False, True, True),
    roles.AGENTS: (True, False, False, False),
    roles.OFFICERS: (False, False, False, False),
    roles.SUPERVISORS: (True, False, False, False),
    roles.AUDITORS: (True, False, False, False),
    roles.ADMINISTRATORS: (True, True, True, True),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_on_the_fragment_library(client, make_user, customer_dictionary, role):
    from wagtail.permission_policies import ModelPermissionPolicy
    from wagtail.permissions import policy_registry

    from wagtail_correspondence.models import Fragment

    fragment = factories.fragment(customer_dictionary)
    user = make_user("member", role)
    client.force_login(user)
    can_list, can_add, can_edit, can_withdraw = EXPECTED[role]
    assert (client.get(reverse(f"{FRAGMENTS}:list")).status_code == 200) is can_list
    assert (client.get(reverse(f"{FRAGMENTS}:add")).status_code == 200) is can_add
    assert (client.get(reverse(f"{FRAGMENTS}:edit", args=[fragment.pk])).status_code == 200) is can_edit
    assert ModelPermissionPolicy(Fragment).user_has_permission(user, "publish") is can_withdraw
    policy = policy_registry.get_by_type(Fragment)
    assert policy.user_has_permission(user, "unpublish") is can_withdraw
    assert policy.user_has_permission(user, "publish") is False


def test_library_page_permissions(make_user, customer_dictionary, standard_layout):
    page = factories.letter_template(customer_dictionary, standard_layout, [factories.fragment(customer_dictionary)])
    author = page.permissions_for_user(make_user("author", roles.CONTENT_AUTHORS))
    reviewer = page.permissions_for_user(make_user("reviewer", roles.CONTENT_REVIEWERS))
    agent = page.permissions_for_user(make_user("agent", roles.AGENTS))
    # Nobody publishes a template but the review workflow; reviewers may withdraw one.
    assert author.can_edit() and not author.can_publish() and not author.can_unpublish()
    assert reviewer.can_edit() and not reviewer.can_publish() and reviewer.can_unpublish()
    assert not agent.can_edit() and not agent.can_publish()
    library = page.get_parent().specific
    assert library.permissions_for_user(make_user("author2", roles.CONTENT_AUTHORS)).can_add_subpage()
