"""Bounded fuzz of the API against its own OpenAPI schema (schemathesis, in-process through
the site's WSGI application): every operation, with valid and with invalid input, as an
administrator holding a token; no request may answer with a server error. Then the 500s the
fuzz found, as fixed regressions."""

import json
import re

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from wagtail_correspondence.models import Category, Department
from wagtail_correspondence.services import register as register_service

from . import factories

API = "/api/correspondence/v1/"

# Examples per operation, valid and invalid input mixed; the same on every run, so that a
# failure is reproduced by running the test again (and the report shows the request as a curl
# command). Shrinking is left out to keep the run short: the failing request as first sent is
# enough to reproduce it. About 30 s on two cores for the whole API.
EXAMPLES = 30
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))

# Operations not fuzzed here, and why.
SKIPPED = {
    # Verifies each message by fetching its signing certificate from Amazon: a generated
    # message must not make this machine reach out to the network (its own tests use a local
    # server in tests/test_receipts.py).
    f"POST {API}delivery-receipts/sns/",
}


@pytest.fixture
def wsgi_app():
    """The site's WSGI application. The test's database transaction spans the requests, so,
    as Django's test client does, a request does not close the connection when it ends."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def unthrottled(monkeypatch):
    """Hundreds of requests a minute from one user: the throttle would answer 429 and hide
    what the operations do (throttling has its own tests)."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": None, "anon": None})


@pytest.fixture
def admin(make_user, customer_dictionary, standard_layout, one_customer):
    """An administrator, and something behind each kind of identifier, so that some generated
    requests reach past the 404 into the operations themselves."""
    admin = make_user("root", superuser=True)
    head = Department.add_root(instance=Department(name="Head office", code="head"))
    head.add_child(instance=Department(name="Billing", code="billing"))
    Category.add_root(instance=Category(name="Complaints", code="complaints"))
    fragment = factories.fragment(customer_dictionary, key="greeting")
    factories.letter_template(customer_dictionary, standard_layout, [fragment])
    register_service.register_entry(admin, subject="A question", kind="letter", channel="post")
    return admin


def summary(exc):
    """What failed, and the request that reproduces it (schemathesis' curl line)."""
    lines = [line.strip() for line in str(exc).splitlines()]
    wanted = [line for line in lines if line.startswith(("- ", "[", "curl "))]
    return "\n".join(wanted) or str(exc)[:2000]


def test_no_operation_answers_with_a_server_error(admin, wsgi_app, unthrottled):
    auth = {"Authorization": f"Token {Token.objects.create(user=admin).key}"}
    schema = schemathesis.openapi.from_wsgi(API + "schema/", wsgi_app, headers=auth)  # the schema wants a login
    # The site's schema view documents every DRF view of the site; this API is the subject.
    schema = schema.include(path_regex="^" + re.escape(API))
    failures, fuzzed, labels = [], [], set()
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.add(operation.label)
        if operation.label in SKIPPED:
            continue
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                             operation.as_strategy(GenerationMode.NEGATIVE))

        @FUZZ
        @given(case=strategy)
        def fuzz(case):
            response = case.call(headers=auth)
            case.validate_response(response, checks=[not_a_server_error])

        fuzzed.append(operation.label)
        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is fuzzed; all failures reported
            failures.append(f"{operation.label}:\n{summary(exc)}")
    assert len(fuzzed) >= 30, fuzzed  # the schema was read and its operations found
    assert SKIPPED <= labels  # each skip names an operation that exists
    assert not failures, "\n\n".join(failures)


# What the fuzz found (each answered 500 before its fix) ---------------------------------

HUGE_ID = 12426790111971147776  # beyond 64 bits: no database row can have it


@pytest.mark.parametrize("value", [HUGE_ID, -HUGE_ID, str(HUGE_ID), 1e300])
def test_a_template_id_beyond_64_bits_is_an_unknown_template(client, admin, value):
    client.force_login(admin)
    for url in (API + "letters/", API + "letters/preview/"):
        response = client.post(url, json.dumps({"template": value}), content_type="application/json")
        assert response.status_code == 400 and "No published letter template" in response.json()["template"][0]
    response = client.post(API + "batches/", {"template": value, "file": SimpleUploadedFile("batch.jsonl", b"{}\n")})
    assert response.status_code == 400 and "template" in response.json()  # a form field: text, maybe no number


# Nesting: any shape, any depth, never a server error ------------------------------------

LIMIT = 32  # WAGTAIL_CORRESPONDENCE["INPUT_LIMITS"]["JSON_MAX_DEPTH"] by default


@st.composite
def nested_json(draw):
    """JSON text of a random shape (objects and lists mixed, odd keys, brackets inside
    strings), from 1 to 3000 levels deep, and its depth."""
    depth = draw(st.one_of(st.integers(1, LIMIT + 2), st.integers(LIMIT + 3, 3000)))
    shapes = draw(st.lists(st.sampled_from("[{"), min_size=1, max_size=6))
    key = json.dumps(draw(st.text(alphabet='a."[]{}\\é', max_size=4)))
    leaf = draw(st.sampled_from(['1', '"x"', "null", '"[[[{{{"', "-0.5e3"]))
    opened = [shapes[level % len(shapes)] for level in range(depth)]
    text = "".join(f"{{{key}: " if shape == "{" else "[" for shape in opened) + leaf
    return text + "".join("}" if shape == "{" else "]" for shape in reversed(opened)), depth


@pytest.mark.parametrize("endpoint", ["letters/", "letters/preview/", "correspondence/", "validate"])
def test_nested_json_of_any_depth_is_never_a_server_error(client, admin, endpoint):
    from wagtail_correspondence.models import DataDictionary, LetterTemplatePage

    client.force_login(admin)
    template = LetterTemplatePage.objects.live().first()
    # Each body puts the nested value under one field, that many levels down.
    bodies = {
        "letters/": ('{"template": %d, "data": {"customer": %%s}}' % template.pk, 3),
        "letters/preview/": ('{"template": %d, "data": %%s}' % template.pk, 2),
        "correspondence/": ('{"subject": "Nested", "kind": "letter", "channel": "post", "recipients": %s}', 2),
        "validate": ('{"data": %s}', 2),
    }
    url = (f"data-dictionaries/{DataDictionary.objects.first().pk}/validate/" if endpoint == "validate"
           else endpoint)
    body, level = bodies[endpoint]

    @settings(max_examples=12, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=nested_json())
    def check(case):
        text, depth = case
        response = client.post(API + url, data=body % text, content_type="application/json")
        assert response.status_code < 500, (response.status_code, text[:80])
        if depth + level - 1 > LIMIT:
            answer = response.json()
            assert response.status_code == 400 and f"nested more than {LIMIT} levels" in answer["detail"], answer

    check()
