"""An author translates a fragment into French in wagtail-localize's editor and sends it to
review; a reviewer approves it; the French variant is then live and the English one untouched,
and an agent's letter to a French-speaking customer is written with it."""

import copy


import pytest
from django.urls import reverse
from wagtail.models import Locale, WorkflowState

from tests import factories
from tests.e2e.builder import open_builder
from tests.test_letter_languages import FIELDS, FRENCH_LAYOUT, published_variant
from wagtail_correspondence import roles
from wagtail_correspondence.models import Fragment, Layout, LetterTemplatePage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FRENCH = {
    "Payment reminder": "Rappel de paiement",
    "Dear {{ customer.first_name }}, please pay {{ balance|money }}.":
        "Cher {{ customer.first_name }}, veuillez payer {{ balance|money }}.",
}


@pytest.fixture
def setup(transactional_db, customers):
    locales = {code: Locale.objects.get_or_create(language_code=code)[0] for code in ("fr", "nl")}
    factories.user("author", roles.CONTENT_AUTHORS)
    factories.user("reviewer", roles.CONTENT_REVIEWERS)
    factories.user("agent", roles.AGENTS)
    dictionary = factories.dictionary(fields=FIELDS)
    fragment = factories.fragment(dictionary, key="payment-reminder", title="Payment reminder",
                                  html="<p>Dear {{ customer.first_name }}, please pay {{ balance|money }}.</p>")
    # The rest of the letter is in French already: the letterhead and the template's own words.
    layout = factories.layout()
    template = factories.letter_template(dictionary, layout, [fragment], title="Reminder",
                                         subject="Your account {{ customer.id }}")
    published_variant(Layout, layout, locales["fr"], FRENCH_LAYOUT)
    published_variant(LetterTemplatePage, template, locales["fr"], {
        "Reminder": "Rappel", "Your account {{ customer.id }}": "Votre compte {{ customer.id }}"})
    french_speaking = copy.deepcopy(factories.SAMPLE_DATA)
    french_speaking["customer"].update(language="fr")
    customers(french_speaking)
    return fragment


def test_author_translates_a_fragment_and_a_reviewer_approves_it(setup, open_session, screenshot):
    source = setup
    page = open_session("author", factories.PASSWORD)
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:list"))
    page.get_by_role("button", name="More options for 'Payment reminder'").click()
    page.locator(".w-dropdown__content a", has_text="Translate").first.click()
    page.get_by_label("Français").check()
    page.get_by_role("button", name="Submit").click()
    page.locator(".js-translation-editor").wait_for()

    # Each of the source's strings, translated in the editor and saved.
    for english, french in FRENCH.items():
        segment = page.locator("li", has_text=english).last
        segment.get_by_role("button", name="Translate").click()
        segment.locator("textarea").fill(french)
        segment.get_by_role("button", name="Save").click()
        page.locator("li", has_text=french).first.wait_for()
    screenshot(page, "translation-editor", docs="language-translation-editor")

    # Authors may not publish: they stop the synced translation, which keeps it as a draft, and
    # submit the French fragment for review in Wagtail's editor.
    page.get_by_role("button", name="Stop Synced translation").click()
    page.get_by_text("kept as a draft").wait_for()
    page.locator("footer [data-w-dropdown-target='toggle'], footer .dropdown-toggle").first.click()
    page.get_by_role("button", name="Submit to Legal review").click()
    page.locator(".messages, [data-w-messages-target]").first.wait_for()
    variant = Fragment.objects.get(translation_key=source.translation_key, locale__language_code="fr")
    assert variant.workflow_in_progress and not variant.live

    reviewer = open_session("reviewer", factories.PASSWORD)
    reviewer.get_by_text("Awaiting your review").wait_for()
    row = reviewer.locator("tr", has_text="Rappel de paiement").first
    row.get_by_role("button").last.click()
    row.get_by_text("Approve with comment").click()
    reviewer.locator("textarea[name='comment']").fill("Traduction relue")
    reviewer.locator("form:has(textarea[name='comment'])").get_by_role("button", name="Approve with comment").click()
    reviewer.wait_for_url("**/admin/")
    reviewer.locator("tr", has_text="Rappel de paiement").wait_for(state="detached")
    screenshot(reviewer, "translation-approved")

    variant.refresh_from_db()
    state = WorkflowState.objects.for_instance(variant).order_by("-created_at").first()
    assert state.status == WorkflowState.STATUS_APPROVED and variant.live
    live = variant.live_object()
    assert live.title == "Rappel de paiement" and variant.key == source.key and variant.language == "fr"
    assert "Cher {{ customer.first_name }}, veuillez payer {{ balance|money }}." in str(live.body[0].value)
    source.refresh_from_db()
    assert "Dear {{ customer.first_name }}" in str(source.live_object().body[0].value)

    # The agent writes to Ada Peeters, who speaks French: the letter uses the approved French
    # wording, with the amount as French readers write it, without the agent choosing anything.
    agent = open_session("agent", factories.PASSWORD)
    open_builder(agent, "reminder", "Peeters", "Ada Peeters", "C-1001")
    agent.wait_for_function(
        """() => {
            const frame = document.querySelector('iframe[data-preview-frame]');
            return frame && frame.srcdoc.includes('Cher Ada, veuillez payer');
        }""")
    text = agent.frame_locator("iframe[data-preview-frame]").locator("body").inner_text().replace("\u00a0", " ")
    assert "Cher Ada, veuillez payer 250,00 €." in text and "Votre compte C-1001" in text
    assert agent.locator("select[name=language]").input_value() == ""  # "the customer's language"
    screenshot(agent, "french-letter-preview")
