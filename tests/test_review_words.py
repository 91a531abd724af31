"""Wagtail's publishing words read as the review's (wagtail_correspondence/locale/en, fr and nl):
"Changes requested" rather than "Rejected", "waiting for review" rather than "awaiting moderation"."""

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.urls import reverse
from django.utils import translation
from wagtail.models import TaskState, WorkflowState

import wagtail_correspondence
from tests import factories
from tests.test_four_eyes import FRAGMENT
from wagtail_correspondence import roles

CATALOGUE = Path(wagtail_correspondence.__file__).parent / "locale" / "en" / "LC_MESSAGES"


def status_label(model, status):
    return dict(model._meta.get_field("status").choices)[status]


def test_the_compiled_catalogue_matches_its_source():
    with open(CATALOGUE / "django.po", "rb") as source, open(CATALOGUE / "django.mo", "rb") as compiled:
        po, mo = read_po(source), read_mo(compiled)
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}


def test_workflow_words_in_the_reviews_words_in_every_language():
    with translation.override("en"):
        assert str(status_label(WorkflowState, WorkflowState.STATUS_NEEDS_CHANGES)) == "Changes requested"
        assert str(status_label(TaskState, TaskState.STATUS_REJECTED)) == "Changes requested"
        assert translation.gettext("No publishing schedule set") == "No go-live or expiry date set"
    # French and Dutch say the same in their own words (review/words.py keeps the messages).
    with translation.override("fr"):
        assert str(status_label(TaskState, TaskState.STATUS_REJECTED)) == "Modifications demandées"
        assert translation.gettext("Submit for moderation") == "Soumettre à la relecture"
    with translation.override("nl"):
        assert str(status_label(WorkflowState, WorkflowState.STATUS_NEEDS_CHANGES)) == "Wijzigingen gevraagd"


def test_every_language_overrides_the_same_wagtail_words():
    from wagtail_correspondence.review.words import WAGTAIL_WORDS

    with open(CATALOGUE / "django.po", "rb") as source:
        english = {message.id for message in read_po(source) if message.id}
    assert english == set(WAGTAIL_WORDS)


@pytest.mark.django_db
def test_the_fragment_editor_and_a_stale_review_action_use_review_words(client, make_user, customer_dictionary):
    fragment = factories.fragment(customer_dictionary)
    author = make_user("author", roles.CONTENT_AUTHORS)
    client.force_login(make_user("reviewer", roles.CONTENT_REVIEWERS))
    page = client.get(reverse(f"{FRAGMENT}:edit", args=[fragment.pk])).content.decode()
    assert "No go-live or expiry date set" in page and "publishing schedule" not in page
    # Approving something no longer in review (its author withdrew it meanwhile).
    fragment.save_revision(user=author)
    state = fragment.get_workflow().start(fragment, author)
    task_state = state.current_task_state
    state.cancel(user=author)
    response = client.post(reverse(f"{FRAGMENT}:workflow_action", args=[fragment.pk, "approve", task_state.pk]),
                           follow=True)
    words = " ".join(str(message) for message in response.context["messages"])
    assert "not waiting for review" in words and "moderation" not in words


@pytest.mark.django_db
def test_the_library_folders_speak_of_items_in_review(client, make_user, customer_dictionary, standard_layout):
    author = make_user("author", roles.CONTENT_AUTHORS)
    template = factories.letter_template(customer_dictionary, standard_layout, [factories.fragment(customer_dictionary)])
    template.save_revision(user=author)
    template.get_workflow().start(template, author)
    client.force_login(author)
    page = client.get(reverse("wagtailadmin_explore", args=[template.get_parent().pk])).content.decode()
    words = " ".join(BeautifulSoup(page, "html.parser").select_one("main").get_text(" ").split())
    assert "1-1 of 1 item" in words and "live + in review" in words and "Kind" in words, words
    assert "moderation" not in page and "of 1 pages" not in page
