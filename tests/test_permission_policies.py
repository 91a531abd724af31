"""The permission policies (permissions/) as Wagtail asks them, and the URL guard that keeps
generated views behind them. The URL scope test (test_url_scope.py) walks every URL; this
file pins the pieces it relies on."""

import copy

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.urls import path
from wagtail.permissions import policy_registry

from wagtail_correspondence import roles
from wagtail_correspondence.models import Correspondence, Department, Letter, LetterBatch
from wagtail_correspondence.permissions import (
    batch_policy,
    guard_patterns,
    letter_policy,
    permission_rule,
    policy_rule,
    register_entry_policy,
)
from wagtail_correspondence.services import letters as service

from . import factories


def view(request, **kwargs):
    return HttpResponse("reached")


def test_a_url_naming_an_object_without_a_rule_stops_the_site():
    with pytest.raises(ImproperlyConfigured, match="names an object but has no access rule"):
        guard_patterns([path("things/<int:pk>/", view, name="thing")], rules={})
    with pytest.raises(ImproperlyConfigured, match=r"no access rule for \['version_pk'\]"):
        guard_patterns([path("things/<int:pk>/<int:version_pk>/", view, name="version")], rules={},
                       default=[policy_rule(letter_policy)])
    # An argument that names no object, said so, and a URL without arguments need no rule.
    patterns = guard_patterns([path("things/<str:kind>/", view, name="kind"), path("things/", view, name="list")],
                              rules={}, exempt=["kind"])
    assert [pattern.callback for pattern in patterns] == [view, view]


def test_wagtail_finds_our_policies():
    assert policy_registry.get_by_type(Correspondence) is register_entry_policy
    assert policy_registry.get_by_type(Letter) is letter_policy
    assert policy_registry.get_by_type(LetterBatch) is batch_policy


@pytest.fixture
def template(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary, key="short", html="<p>Dear {{ customer.first_name }},</p>")
    return factories.letter_template(customer_dictionary, standard_layout, [greeting], channels=["print"])


@pytest.mark.usefixtures("one_customer")
def test_letters_guarded_by_scope_and_drafts_changed_by_their_agent(template, make_user):
    complaints = Department.add_root(instance=Department(name="Complaints", code="complaints"))
    agent, colleague = make_user("agent", roles.AGENTS), make_user("colleague", roles.AGENTS)
    outsider, root = make_user("outsider", roles.AGENTS), make_user("root", superuser=True)
    reviewer = make_user("reviewer", roles.CONTENT_REVIEWERS)
    complaints.members.add(agent, colleague)
    request = service.LetterRequest(template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="print")
    draft = service.save_draft(agent, request)
    sent = service.generate_letter(agent, service.LetterRequest(
        template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="print"))

    # Wagtail's instance checks (editing sessions, generic views) ask the same rule as ours.
    assert letter_policy.user_has_permission_for_instance(agent, "change", draft)
    assert letter_policy.user_has_permission_for_instance(root, "delete", draft)
    assert letter_policy.user_has_permission_for_instance(colleague, "view", draft)
    assert not letter_policy.user_has_permission_for_instance(colleague, "change", draft)
    assert not letter_policy.user_has_permission_for_instance(agent, "change", sent)  # a record now
    assert not letter_policy.user_has_permission_for_instance(outsider, "view", draft)

    guarded = guard_patterns([path("letters/<int:pk>/", view, name="letter")], rules={},
                             default=[policy_rule(letter_policy)])[0].callback
    building = guard_patterns([path("new/<int:template_id>/", view, name="build")], rules={"build": [
        permission_rule("template_id", service.can_build_letters)]})[0].callback
    factory = RequestFactory()

    def call(callback, user, **kwargs):
        request = factory.get("/")
        request.user = user
        return callback(request, **kwargs)

    assert call(guarded, colleague, pk=draft.pk).content == b"reached"
    with pytest.raises(Http404):  # outside the scope: it does not exist for them
        call(guarded, outsider, pk=draft.pk)
    with pytest.raises(Http404):  # not an id at all
        call(guarded, colleague, pk="x")
    with pytest.raises(PermissionDenied):  # no letter permission at all: refused as the admin refuses
        call(guarded, reviewer, pk=draft.pk)
    with pytest.raises(PermissionDenied):
        call(building, reviewer, template_id=template.pk)
    assert call(building, agent, template_id=template.pk).content == b"reached"
