"""Markup in content never runs in a reader's browser.

1. An author types merge fields that carry markup into a fragment, previews it, saves it and
   submits it for review. The author's preview panel, the reviewer's side-by-side compare page
   and, once the wording is live, the agent's builder preview show the markup as text.
2. The rendering lets raw markup through (a rendering that does not escape, and a stored
   revision written past the editor): the frames hold a live <script> and an <img onerror>,
   and still nothing runs, in the admin pages nor in a preview opened on its own.

Every page listens for dialogs (alert() is what the payloads call) on itself and all its
frames, and collects Content-Security-Policy violations (securitypolicyviolation events and
the browser's console): the admin pages of the journey report none.
"""

import re

import pytest
from django.urls import reverse
from markupsafe import Markup
from wagtail.models import WorkflowState

from tests import factories
from wagtail_correspondence import roles

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
TYPED = ' Note: {{ "%s" }} and {{ "%s" }}.' % (IMG, SCRIPT)
RAW = "<script>alert(3)</script><img src=x onerror=alert(4)>"

VIOLATIONS = """
document.addEventListener('securitypolicyviolation', event => {
  window.__cspViolation && window.__cspViolation({
    directive: event.effectiveDirective, blocked: event.blockedURI, document: document.location.href});
}, true);
"""


class Watch:
    """What a page did that it must not: dialogs opened (alert), policy violations."""

    def __init__(self, page):
        self.dialogs, self.violations, self.console = [], [], []
        page.on("dialog", self.on_dialog)
        page.on("console", self.on_console)
        page.expose_binding("__cspViolation", lambda source, detail: self.violations.append(detail))
        page.add_init_script(VIOLATIONS)

    def on_dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(self, message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def assert_clean(self):
        assert self.dialogs == [], self.dialogs
        assert self.violations == [] and self.console == [], (self.violations, self.console)


@pytest.fixture
def world(transactional_db, one_customer):
    author = factories.user("author", roles.CONTENT_AUTHORS)
    reviewer = factories.user("reviewer", roles.CONTENT_REVIEWERS)
    agent = factories.user("agent", roles.AGENTS)
    dictionary = factories.dictionary()
    fragment = factories.fragment(dictionary, key="payment-reminder",
                                  html="<p>Dear {{ customer.first_name }}, please pay {{ balance|money }}.</p>")
    template = factories.letter_template(dictionary, factories.layout(), [fragment])
    return {"author": author, "reviewer": reviewer, "agent": agent, "fragment": fragment, "template": template}


def frame_text(page, selector):
    return page.frame_locator(selector).locator("body").inner_text()


def open_builder(page, template, expected):
    page.goto(reverse("wagtail_correspondence_letters:build", args=[template.pk]))
    page.locator("[data-customer-search]").press_sequentially("C-1001", delay=20)
    page.locator("[data-customer-results] button", has_text="C-1001").click()
    page.wait_for_function(
        """expected => {
            const frame = document.querySelector('iframe[data-preview-frame]');
            const status = document.querySelector('[data-preview-status]').textContent;
            return status.startsWith('Preview up to date') && frame.srcdoc.includes(expected);
        }""", arg=expected)
    page.locator("[data-preview-tab=print]").click()
    # The tab sets the frame's document anew; it is counted once it holds the letter (a count
    # taken while it loaded once saw one live element instead of two).
    page.frame_locator("iframe[data-preview-frame]").get_by_text(expected).first.wait_for()


def approve(fragment, reviewer):
    """The reviewer's approval, through the workflow (the journey of test_review_journey.py
    clicks it): the wording goes live."""
    fragment.refresh_from_db()
    state = fragment.current_workflow_state
    task_state = state.current_task_state
    # Where Wagtail's approve buttons end: the four-eyes task publishes only from there.
    task_state.task.specific.on_action(task_state, reviewer, "approve", comment="Checked")
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED


def test_merge_fields_with_markup_are_text_for_author_reviewer_and_agent(world, open_session, screenshot):
    fragment = world["fragment"]

    # The author types the merge fields into the rich-text editor and looks at the preview panel.
    page = open_session("author", factories.PASSWORD)
    author = Watch(page)
    previews = []
    page.on("response", lambda response: previews.append(response) if "/preview/" in response.url
            and response.request.method == "GET" else None)
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk]))
    editor = page.locator("[contenteditable=true]").first
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type(TYPED)
    page.locator("#id_title").click()  # blur: Draftail serialises into its hidden input
    page.wait_for_function("() => document.querySelector('input[name=\"body-0-value\"]').value.includes('Note:')")
    page.locator("[data-side-panel-toggle='preview']").first.click()
    preview = page.frame_locator("#w-preview-iframe").locator("body")
    preview.get_by_text("Note:").wait_for()
    assert IMG in preview.inner_text() and SCRIPT in preview.inner_text()
    assert previews and all("sandbox" in response.headers["content-security-policy"] and
                            "script-src 'none'" in response.headers["content-security-policy"]
                            for response in previews if response.status == 200)
    screenshot(page, "author-preview-panel")
    page.locator("footer [data-w-dropdown-target='toggle'], footer .dropdown-toggle").first.click()
    page.get_by_role("button", name="Submit to Legal review").click()
    page.locator(".messages, [data-w-messages-target]").first.wait_for()
    author.assert_clean()
    fragment.refresh_from_db()
    assert fragment.current_workflow_state.status == WorkflowState.STATUS_IN_PROGRESS
    assert "Note:" in fragment.latest_revision.as_object().body[0].value.source

    # The reviewer compares the live wording with the submitted one.
    page = open_session("reviewer", factories.PASSWORD)
    reviewer = Watch(page)
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:side_by_side", args=[fragment.pk]))
    left = frame_text(page, "iframe[data-compare-frame='1']")
    right = frame_text(page, "iframe[data-compare-frame='2']")
    assert "please pay €250.00." in left and "Note:" not in left
    assert f"Note: {IMG} and {SCRIPT}." in right
    assert page.frame_locator("iframe[data-compare-frame='2']").locator("img, script").count() == 0
    screenshot(page, "reviewer-compare")
    reviewer.assert_clean()

    approve(fragment, world["reviewer"])

    # The agent builds a letter from a template that uses the fragment.
    page = open_session("agent", factories.PASSWORD)
    agent = Watch(page)
    open_builder(page, world["template"], "Dear Ada")
    text = frame_text(page, "iframe[data-preview-frame]")
    assert "Dear Ada" in text and f"Note: {IMG} and {SCRIPT}." in text
    page.locator("[data-preview-tab=email]").click()
    page.frame_locator("iframe[data-preview-frame]").get_by_text("Note:").wait_for()
    assert IMG in frame_text(page, "iframe[data-preview-frame]")
    screenshot(page, "agent-builder")
    agent.assert_clean()


@pytest.fixture
def raw_rendering(monkeypatch, world):
    """The sandbox fails: rendering passes raw markup through (every rich-text block ends with
    a live script and an image with a handler), and the submitted revision was written past
    the editor with a raw <script> in its rich text."""
    from wagtail_correspondence.rendering import fragments, templates

    original = fragments.BodyRenderer.render_block

    def render_block(self, block_type, value, location):
        rendered = original(self, block_type, value, location)
        return rendered + Markup(RAW) if block_type == "rich_text" else rendered

    monkeypatch.setattr(fragments.BodyRenderer, "render_block", render_block)
    # Letters render fragments from their compiled plans; without one, through the walker.
    monkeypatch.setattr(templates, "render_planned", lambda *args: None)
    fragment = world["fragment"]
    fragment.body = factories.fragment_body(factories.rich_text(
        "<p>Stored past the editor.</p><script>alert(5)</script><p><img src=x onerror=alert(6)></p>"))
    revision = fragment.save_revision(user=world["author"], clean=False)  # past the checks on save
    fragment.get_workflow().start(fragment, world["author"])  # submitted for review
    return revision


def live_elements(page, selector):
    """The script and handler-carrying elements the frame's document holds as markup."""
    frame = page.frame_locator(selector)
    return frame.locator("script").count() + frame.locator("img[onerror]").count()


def test_when_the_rendering_lets_markup_through_nothing_runs(world, raw_rendering, open_session, screenshot):
    fragment, revision = world["fragment"], raw_rendering

    page = open_session("reviewer", factories.PASSWORD)
    reviewer = Watch(page)
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:side_by_side", args=[fragment.pk]))
    page.wait_for_load_state("networkidle")  # the image "x" has failed: an onerror handler would have run
    assert reviewer.dialogs == [], reviewer.dialogs
    for column in ("1", "2"):
        selector = f"iframe[data-compare-frame='{column}']"
        page.frame_locator(selector).locator("body").wait_for()
        assert live_elements(page, selector) >= 2  # the markup is there, live...
    screenshot(page, "reviewer-compare-raw")
    # ...and the page that holds it is clean: its own policy saw nothing to refuse.
    page_violations = [v for v in reviewer.violations if not v["document"].startswith("about:")]
    assert reviewer.dialogs == [] and page_violations == [], (reviewer.dialogs, page_violations)

    # The revision's preview, opened on its own (as "Preview" in a new tab would).
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:revisions_view",
                      args=[fragment.pk, revision.pk]))
    page.get_by_text("Stored past the editor.").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.locator("script").count() >= 1 and page.locator("img[onerror]").count() >= 1
    assert reviewer.dialogs == []

    approve(fragment, world["reviewer"])
    page = open_session("agent", factories.PASSWORD)
    agent = Watch(page)
    open_builder(page, world["template"], "Stored past the editor.")
    assert live_elements(page, "iframe[data-preview-frame]") >= 2
    assert re.search(r"Stored past the editor", frame_text(page, "iframe[data-preview-frame]"))
    screenshot(page, "agent-builder-raw")
    page_violations = [v for v in agent.violations if not v["document"].startswith("about:")]
    assert agent.dialogs == [] and page_violations == [], (agent.dialogs, page_violations)
