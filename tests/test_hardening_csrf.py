"""CSRF: with a client that enforces the check as browsers' requests face it, an admin or
portal form posted without the token is refused and changes nothing; the API refuses a
session-authenticated write without the token, and needs none with token authentication
(a token is never sent by a browser on its own)."""

import copy
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from wagtail_correspondence import roles
from wagtail_correspondence.models import Correspondence, Department, Letter, Note, PortalResponse
from wagtail_correspondence.services import letters as letter_service
from wagtail_correspondence.services import register as register_service

from . import factories

API = "/api/correspondence/v1/"


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def supervisor(make_user):
    user = make_user("sue", roles.SUPERVISORS)
    department = Department.add_root(instance=Department(name="Customer Service", code="customer-service"))
    department.members.add(user)
    return user


@pytest.fixture
def entry(supervisor):
    return register_service.register_entry(supervisor, subject="A question", kind="letter", channel="post")


def csrf_token(client, url):
    """The token a real form page hands out (and its cookie, now in the client)."""
    page = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_an_admin_action_without_the_token_is_refused(csrf_client, supervisor, entry):
    csrf_client.force_login(supervisor)
    url = f"/admin/correspondence/register/{entry.pk}/notes/"
    response = csrf_client.post(url, {"text": "Posted from another site"})
    assert response.status_code == 403 and not Note.objects.exists()
    response = csrf_client.post(f"/admin/correspondence/register/{entry.pk}/transition/", {"action": "start"})
    entry.refresh_from_db()
    assert response.status_code == 403 and entry.status == "registered"
    # The same post with the page's token goes through: the refusal above was the CSRF check.
    token = csrf_token(csrf_client, f"/admin/correspondence/register/entries/inspect/{entry.pk}/")
    csrf_client.post(url, {"text": "Posted from the page", "csrfmiddlewaretoken": token})
    assert list(Note.objects.values_list("text", flat=True)) == ["Posted from the page"]


@pytest.mark.usefixtures("one_customer")
def test_the_letter_builder_without_the_token_generates_nothing(csrf_client, agent, customer_dictionary,
                                                                standard_layout):
    template = factories.letter_template(customer_dictionary, standard_layout,
                                         [factories.fragment(customer_dictionary)])
    csrf_client.force_login(agent)
    url = reverse("wagtail_correspondence_letters:build", args=[template.pk])
    data = {"customer_id": "C-1001", "channel": "print", "idempotency_key": "csrf-1", "action": "generate"}
    assert csrf_client.post(url, data).status_code == 403
    assert not Letter.objects.exists()
    token = csrf_token(csrf_client, url)
    assert csrf_client.post(url, {**data, "csrfmiddlewaretoken": token}).status_code == 302
    assert Letter.objects.count() == 1


@pytest.mark.usefixtures("one_customer")
def test_a_portal_reply_without_the_token_is_refused(csrf_client, agent, customer_dictionary, standard_layout,
                                                     django_capture_on_commit_callbacks):
    template = factories.letter_template(customer_dictionary, standard_layout,
                                         [factories.fragment(customer_dictionary)], channels=["print", "portal"])
    with django_capture_on_commit_callbacks(execute=True):
        letter = letter_service.generate_letter(agent, letter_service.LetterRequest(
            template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="portal"))
    path = re.search(r"http://testserver(/portal/letters/[^/\s]+/)", mail.outbox[0].body).group(1)
    assert csrf_client.post(path, {"action": "reply", "text": "Forged"}).status_code == 403
    assert csrf_client.post(path, {"action": "acknowledge"}).status_code == 403
    assert not PortalResponse.objects.filter(letter=letter).exists()
    token = csrf_token(csrf_client, path)
    csrf_client.post(path, {"action": "reply", "text": "From the page", "csrfmiddlewaretoken": token})
    assert list(letter.portal_responses.values_list("text", flat=True)) == ["From the page"]


def test_an_api_write_with_the_session_needs_the_token(csrf_client, supervisor, entry):
    csrf_client.force_login(supervisor)
    url = f"{API}correspondence/{entry.reference}/notes/"
    response = csrf_client.post(url, {"text": "Forged"}, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    response = csrf_client.post(API + "correspondence/", {"subject": "Forged entry"}, content_type="application/json")
    assert response.status_code == 403 and Correspondence.objects.count() == 1
    assert not Note.objects.exists()
    # Reads need no token.
    assert csrf_client.get(url.replace("notes/", "")).status_code == 200
    # With the token the admin's pages hold (header, as the admin's scripts send it), it works.
    token = csrf_token(csrf_client, f"/admin/correspondence/register/entries/inspect/{entry.pk}/")
    response = csrf_client.post(url, {"text": "From the admin"}, content_type="application/json",
                                HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_an_api_write_with_a_token_needs_no_csrf(csrf_client, supervisor, entry):
    token = Token.objects.create(user=supervisor).key
    response = csrf_client.post(f"{API}correspondence/{entry.reference}/notes/", {"text": "From an integration"},
                                content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 201
    assert list(Note.objects.values_list("text", flat=True)) == ["From an integration"]
