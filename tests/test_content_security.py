"""Content-Security-Policy and sandboxed frames: whatever HTML the rendering produces, no
script runs in the admin's or the portal's origin.

Each kind of response that shows rendered content carries a policy without script (previews,
the builder's preview, the portal), the frames that show it inside a page are sandboxed
without allow-scripts and start with the same policy of their own, and every other page of
the reference site carries the admin policy measured on Wagtail's admin (docs/security.md).
The browser side (nothing runs, no violation) is tests/e2e/test_markup_stays_text.py."""

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from markupsafe import Markup

from wagtail_correspondence import roles
from wagtail_correspondence.content_security import framed_document, policy

from . import factories
from .factories import fragment_body, rich_text

RAW = '<script>alert(3)</script><img src=x onerror=alert(4)>'


def directives(header):
    """{"script-src": ["'none'"], ...} of a policy header."""
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_rendered_policy(header):
    """The policy for rendered content: nothing runs, nothing is fetched from elsewhere."""
    found = directives(header)
    assert found["script-src"] == ["'none'"], header
    assert found["default-src"] == ["'none'"], header
    assert found["sandbox"] == ["allow-same-origin"], header  # no allow-scripts, forms, popups
    assert found["base-uri"] == ["'none'"] and found["form-action"] == ["'none'"], header
    assert found["frame-ancestors"] == ["'self'"], header
    assert "'unsafe-eval'" not in header and "http" not in header, header


class Frames(HTMLParser):
    """The iframes of a page, with their attributes (srcdoc unescaped, as the browser reads it)."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.frames = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "iframe":
            self.frames.append(dict(attrs))


def assert_sandboxed_frame(frame):
    assert frame.get("sandbox") == "", frame.get("sandbox")  # present, and grants nothing
    document = frame["srcdoc"]
    # The frame's own policy is its first element: it applies before any rendered markup.
    head = re.match(r'<!DOCTYPE html>(?:<html><head>)?<meta http-equiv="Content-Security-Policy" content="([^"]*)">',
                    document)
    assert head, document[:200]
    meta = directives(unescape(head.group(1)))
    assert meta["script-src"] == ["'none'"] and meta["default-src"] == ["'none'"], head.group(1)
    assert "sandbox" not in meta and "frame-ancestors" not in meta  # not allowed in <meta>
    return document


@pytest.fixture
def raw_renderer(monkeypatch):
    """Rendering that lets markup through, whatever the sandbox does: every rendered fragment
    rich-text block ends with a live script and an image with a handler. What follows must hold anyway."""
    from wagtail_correspondence.rendering import fragments, templates

    original = fragments.BodyRenderer.render_block

    def render_block(self, block_type, value, location):
        rendered = original(self, block_type, value, location)
        return rendered + Markup(RAW) if block_type == "rich_text" else rendered

    monkeypatch.setattr(fragments.BodyRenderer, "render_block", render_block)
    # Letters render fragments from their compiled plans; without one, through the walker.
    monkeypatch.setattr(templates, "render_planned", lambda *args: None)


# Previews ------------------------------------------------------------------------------


@pytest.fixture
def library(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="reminder", html="<p>Dear {{ customer.first_name }},</p>")
    template = factories.letter_template(customer_dictionary, standard_layout, [fragment])
    return fragment, template, standard_layout


@pytest.mark.parametrize("kind", ["fragment", "template", "layout"])
def test_previews_answer_with_the_policy_for_rendered_content(client, make_user, library, raw_renderer, kind):
    fragment, template, layout = library
    urls = {
        "fragment": reverse("wagtailsnippets_wagtail_correspondence_fragment:revisions_view",
                            args=[fragment.pk, fragment.latest_revision.pk]),
        "template": reverse("wagtailadmin_pages:revisions_view", args=[template.pk, template.latest_revision.pk]),
        "layout": reverse("wagtailsnippets_wagtail_correspondence_layout:revisions_view",
                          args=[layout.pk, layout.latest_revision.pk]),
    }
    client.force_login(make_user("root", superuser=True))
    response = client.get(urls[kind])
    assert response.status_code == 200
    assert_rendered_policy(response["Content-Security-Policy"])
    if kind != "layout":  # a layout preview holds no fragment
        assert RAW in response.content.decode()  # the markup is there: the policy alone stops it


# Frames inside admin and portal pages -------------------------------------------------------


def test_the_compare_page_shows_each_revision_in_a_sandboxed_frame(client, make_user, customer_dictionary,
                                                                   raw_renderer):
    fragment = factories.fragment(customer_dictionary, html="<p>Old: pay {{ balance|money }}</p>")
    fragment.body = fragment_body(rich_text('<p>New: {{ "<img src=x onerror=alert(1)>" }}</p>'))
    fragment.save_revision()
    client.force_login(make_user("reviewer", roles.CONTENT_REVIEWERS))
    response = client.get(reverse("wagtailsnippets_wagtail_correspondence_fragment:side_by_side", args=[fragment.pk]))
    page = response.content.decode()
    frames = [frame for frame in Frames(page).frames if "data-compare-frame" in frame]
    assert len(frames) == 2
    left, right = (assert_sandboxed_frame(frame) for frame in frames)
    assert "Old: pay €250.00" in left and RAW in left  # the raw markup reached the frame...
    assert "New: &lt;img src=x onerror=alert(1)&gt;" in right  # (the merge field as text)
    assert RAW not in page and "<script>alert" not in page  # ...and nowhere else in the page
    # The admin's policy, without the inline script that Wagtail's form widgets need elsewhere.
    found = directives(response["Content-Security-Policy"])
    assert found["script-src"] == ["'self'"] and found["script-src-attr"] == ["'none'"]


@pytest.mark.usefixtures("one_customer")
def test_the_builders_preview_answers_with_the_policy_and_framed_documents(client, agent, library, raw_renderer):
    _fragment, template, _layout = library
    client.force_login(agent)
    response = client.post(reverse("wagtail_correspondence_letters:preview", args=[template.pk]),
                           {"customer_id": "C-1001", "channel": "print"})
    assert response.status_code == 200, response.content
    assert_rendered_policy(response["Content-Security-Policy"])
    payload = response.json()
    for name in ("print", "email"):
        document = assert_sandboxed_frame({"sandbox": "", "srcdoc": payload["frames"][name]})
        assert "Dear Ada" in document and "<script>alert(3)</script>" in document  # (email HTML is re-serialised)
    builder = client.get(reverse("wagtail_correspondence_letters:build", args=[template.pk]))
    [frame] = [frame for frame in Frames(builder.content.decode()).frames if "data-preview-frame" in frame]
    assert frame.get("sandbox") == ""
    assert directives(builder["Content-Security-Policy"])["script-src"] == ["'self'"]


@pytest.fixture
def portal_letter(agent, library, django_capture_on_commit_callbacks, raw_renderer):
    import copy
    import re

    from django.core import mail

    from wagtail_correspondence.services import letters as service

    _fragment, template, _layout = library
    template.channels = ["print", "portal"]
    template.save_revision().publish()
    with django_capture_on_commit_callbacks(execute=True):
        letter = service.generate_letter(agent, service.LetterRequest(
            template=template.specific_class.objects.get(pk=template.pk), data=copy.deepcopy(factories.SAMPLE_DATA),
            channel="portal"))
    return letter, re.search(r"http://testserver(/portal/letters/[^/\s]+/)", mail.outbox[-1].body).group(1)


@pytest.mark.usefixtures("one_customer")
def test_the_portal_answers_with_its_policy_and_frames_the_letter(client, portal_letter):
    letter, link = portal_letter
    response = client.get(link)
    assert response.status_code == 200
    found = directives(response["Content-Security-Policy"])
    assert found["script-src"] == ["'none'"] and found["default-src"] == ["'none'"]
    assert found["frame-ancestors"] == ["'none'"] and found["base-uri"] == ["'none'"]
    assert found["form-action"] == ["'self'"]  # acknowledge and reply post to the page itself
    page = response.content.decode()
    [frame] = Frames(page).frames
    document = assert_sandboxed_frame(frame)
    assert letter.reference in document and RAW in document
    assert RAW not in page
    # Every answer of the portal, refusals included.
    refused = client.get("/portal/letters/not-a-token/")
    assert refused.status_code == 403 and directives(refused["Content-Security-Policy"])["script-src"] == ["'none'"]


@pytest.mark.usefixtures("one_customer")
def test_the_letter_page_shows_the_letter_in_a_sandboxed_frame(client, agent, library, raw_renderer):
    from wagtail_correspondence.services import letters as service

    _fragment, template, _layout = library
    draft = service.save_draft(agent, service.LetterRequest(template=template, customer_id="C-1001",
                                                            channel="print"))
    client.force_login(make_superuser())
    draft.html = service.preview_letter(agent, service.LetterRequest(template=template, customer_id="C-1001",
                                                                     channel="print")).html
    draft.save(update_fields=["html"])
    response = client.get(reverse("wagtail_correspondence_letters:inspect", args=[draft.pk]))
    page = response.content.decode()
    [frame] = Frames(page).frames
    document = assert_sandboxed_frame(frame)
    assert "Dear Ada" in document and RAW in document and RAW not in page
    assert directives(response["Content-Security-Policy"])["script-src"] == ["'self'"]


def make_superuser():
    return factories.user("root", superuser=True)


# The rest of the site ---------------------------------------------------------------------


def test_admin_pages_carry_the_measured_admin_policy(client, make_user, settings):
    client.force_login(make_user("root", superuser=True))
    response = client.get("/admin/")
    assert response.status_code == 200
    found = directives(response["Content-Security-Policy"])
    expected = {name: list(value) for name, value in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].items()}
    assert found == expected
    assert found["object-src"] == ["'none'"] and found["base-uri"] == ["'none'"]
    assert "'unsafe-eval'" not in found["script-src"]
    assert found["script-src-attr"] == ["'none'"]  # no inline event handler runs anywhere in the admin
    assert not any(source.startswith("http") for sources in found.values() for source in sources)  # no third party
    assert response["X-Frame-Options"] == "DENY"  # no frame-ancestors: X-Frame-Options still decides
    login = client.get("/admin/login/")
    assert "Content-Security-Policy" in login


def test_the_api_documentation_pages_have_a_policy_of_their_own(client, make_user):
    client.force_login(make_user("root", superuser=True))
    for name in ("docs",):
        response = client.get(reverse(f"wagtail_correspondence_api:{name}"))
        assert response.status_code == 200, name
        found = directives(response["Content-Security-Policy"])
        assert found["script-src"] == ["'self'"], name  # no inline script, no eval
        page = response.content.decode()
        assert "fonts.googleapis" not in page and "<script>" not in page, name
    script = client.get(reverse("wagtail_correspondence_api:docs") + "?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


# Configuration ----------------------------------------------------------------------------


def test_the_plugins_policies_hold_without_django_csps_middleware(client, make_user, library, settings):
    """A project that does not use django-csp still gets the policies of rendered content."""
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if not name.startswith("csp.")]
    fragment, _template, _layout = library
    client.force_login(make_user("root", superuser=True))
    preview = client.get(reverse("wagtailsnippets_wagtail_correspondence_fragment:revisions_view",
                                 args=[fragment.pk, fragment.latest_revision.pk]))
    assert_rendered_policy(preview["Content-Security-Policy"])
    assert "Content-Security-Policy" not in client.get("/admin/")


def test_a_project_can_change_a_policy(client, make_user, library, settings):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "CONTENT_SECURITY_POLICY": {
        "RENDERED": {"default-src": ["'none'"], "script-src": ["'none'"], "img-src": ["https://images.example.org"],
                     "sandbox": True}}}
    fragment, _template, _layout = library
    client.force_login(make_user("root", superuser=True))
    preview = client.get(reverse("wagtailsnippets_wagtail_correspondence_fragment:revisions_view",
                                 args=[fragment.pk, fragment.latest_revision.pk]))
    found = directives(preview["Content-Security-Policy"])
    assert found == {"default-src": ["'none'"], "script-src": ["'none'"], "img-src": ["https://images.example.org"],
                     "sandbox": []}
    # The other kinds keep their defaults.
    assert directives(policy("PORTAL"))["script-src"] == ["'none'"]


def test_framed_document_puts_the_policy_first():
    whole = framed_document('<!DOCTYPE html><html lang="fr"><head><title>x</title></head><body>Bonjour</body></html>')
    assert whole.startswith('<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="')
    assert whole.endswith("<body>Bonjour</body></html>")
    part = framed_document(Markup("<p>Hello</p>"), title='A "title" <b>')
    assert part.startswith('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="')
    assert "<title>A &quot;title&quot; &lt;b&gt;</title>" in part and "<body><p>Hello</p></body>" in part
    assert "sandbox" not in part.split("<body>")[0]
