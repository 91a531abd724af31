"""XSS: a script payload in every user-supplied field that is shown somewhere (customer data
merged into a letter, agent slot text, register entry subject, body, sender name,
organisation and email, note text, attachment file names, portal reply text, category and
department names) comes out as text, never as a live tag: in the admin (register list, entry
page, letter page, dashboard, department and category lists), the portal page, the letter's
email HTML and its PDF (read back with pdftotext).

Each field gets its own marker (F1, S1...) in front of the payload, so that a test also proves
the field is shown at all: the page's text holds the marker followed by the payload's literal
characters. Pages are read with an HTML parser, as a browser would read them, including the
documents inside ``srcdoc`` frames."""

import copy
import re
import subprocess
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from wagtail_correspondence.models import Category, Correspondence, Department, Dispatch
from wagtail_correspondence.services import letters as letter_service
from wagtail_correspondence.services import register as register_service
from wagtail_correspondence.services.letters import verified_pdf
from wagtail_correspondence.wagtail_hooks import category_admin

from . import factories

PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
# Uploaded file names cannot hold "/" (it separates folders): the same attack without it.
FILE_PAYLOAD = '"><img src=x onerror=alert(1)><svg onload=alert(1)>'
# An email address may hold the payload between quotes, without spaces.
EMAIL_PAYLOAD = '"<script>alert(1)</script><img/src=x/onerror=alert(1)>"@example.org'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def payload(marker):
    return f"{marker}{PAYLOAD}"


class Document(HTMLParser):
    """What a browser makes of a page: its text, and any element the payload turned into live
    markup (a script running alert, an element with an alert handler, the injected image)."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.text, self.live, self._script = [], [], None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script":
            self._script = []
        if tag in ("img", "image") and values.get("src") == "x":
            self.live.append(f"<{tag} src=x>")
        self.live += [f"<{tag} {name}=...>" for name, value in attrs
                      if name.startswith("on") and "alert(1)" in (value or "")]
        if values.get("srcdoc"):  # a document of its own, parsed again by the browser
            inner = Document(values["srcdoc"])
            self.text += inner.text
            self.live += inner.live

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if "alert(1)" in "".join(self._script):
                self.live.append("<script>alert(1)</script>")
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)
        else:
            self.text.append(data)

    @property
    def all_text(self):
        return re.sub(r"\s+", " ", "".join(self.text))


def assert_inert(html, *markers, payload_text=PAYLOAD):
    document = Document(html)
    assert document.live == [], document.live
    for marker in markers:
        assert f"{marker}{payload_text}" in document.all_text, f"{marker} is not shown as text"


@pytest.fixture
def world(make_user, customer_dictionary, standard_layout, customers, django_capture_on_commit_callbacks):
    """One of everything a user can type, each holding the payload."""
    admin = make_user("root", superuser=True)
    department = Department.add_root(instance=Department(name=payload("D1"), code="complaints"))
    department.members.add(admin)
    category = Category.add_root(instance=Category(name=payload("C1"), code="claims"))

    entry = register_service.register_entry(
        admin, subject=payload("S1"), body=payload("B1"), sender_name=payload("N1"),
        sender_organisation=payload("O1"), sender_email=EMAIL_PAYLOAD, kind="complaint", channel="post",
        department=department, category=category, assignee=admin)
    register_service.add_note(admin, entry, payload("T1"))
    register_service.add_attachment(admin, entry, SimpleUploadedFile(f"A1{FILE_PAYLOAD}.pdf", PDF))

    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"].update(first_name=payload("F1"), full_name=payload("U1"))
    data["customer"]["address"]["line1"] = payload("L1")
    customers(data)
    body = factories.template_body(
        ("fragment", factories.fragment(customer_dictionary, key="greeting")),
        ("agent_slot", {"name": "note", "label": "Note", "help": "", "required": True, "max_length": 500,
                        "default_text": ""}))
    template = factories.letter_template(customer_dictionary, standard_layout, [], body=body,
                                         channels=["print", "email", "portal"],
                                         subject="Your letter {{ customer.first_name }}")
    with django_capture_on_commit_callbacks(execute=True):
        letter = letter_service.generate_letter(admin, letter_service.LetterRequest(
            template=template, customer_id="C-1001", slots={"note": payload("G1")}, channel="portal"))
    link = re.search(r"http://testserver(/portal/letters/[^/\s]+/)", mail.outbox[-1].body).group(1)
    return {"admin": admin, "entry": entry, "letter": letter, "link": link}


def reply_in_portal(client, world):
    response = client.post(world["link"], {"action": "reply", "text": payload("R1"),
                                           "attachment": SimpleUploadedFile(f"P1{FILE_PAYLOAD}.pdf", PDF)})
    assert response.status_code == 302


def test_the_register_list_and_the_entry_page(client, world):
    client.force_login(world["admin"])
    listing = client.get("/admin/correspondence/register/entries/").content.decode()
    assert_inert(listing, "S1", "N1")
    page = client.get(f"/admin/correspondence/register/entries/inspect/{world['entry'].pk}/").content.decode()
    assert_inert(page, "S1", "B1", "N1", "O1", "T1", "D1", "C1")
    assert_inert(page, "A1", payload_text=FILE_PAYLOAD)
    assert_inert(page, "", payload_text=EMAIL_PAYLOAD)


def test_the_dashboard_and_the_department_and_category_lists(client, world):
    from .test_register_screens import look_at_dashboard

    client.force_login(world["admin"])
    assert_inert(client.get("/admin/").content.decode(), "S1")
    assert_inert(look_at_dashboard(client)[0], "D1")  # the volumes' own request, inserted as it is
    assert_inert(client.get(reverse("wagtail_correspondence_department_modeladmin_index")).content.decode(), "D1")
    assert_inert(client.get(category_admin.url_helper.index_url).content.decode(), "C1")


def test_the_letter_page_with_the_customers_reply(client, world):
    reply_in_portal(client, world)
    client.force_login(world["admin"])
    page = client.get(reverse("wagtail_correspondence_letters:inspect", args=[world["letter"].pk])).content.decode()
    assert_inert(page, "Your letter F1", "U1", "R1")  # the subject (merged), the recipient, the reply
    assert_inert(page, "P1", payload_text=FILE_PAYLOAD)
    # The reply is an inbound entry of the register too.
    reply_entry = Correspondence.objects.get(portal_response__letter=world["letter"])
    page = client.get(f"/admin/correspondence/register/entries/inspect/{reply_entry.pk}/").content.decode()
    assert_inert(page, "R1")
    assert_inert(page, "P1", payload_text=FILE_PAYLOAD)


def test_the_portal_page(client, world):
    reply_in_portal(client, world)
    page = client.get(world["link"]).content.decode()
    assert_inert(page, "F1", "L1", "G1", "R1")
    assert_inert(page, "P1", payload_text=FILE_PAYLOAD)
    assert Dispatch.objects.filter(letter=world["letter"], channel="portal").exists()


def test_the_letters_email_html(world):
    letter = world["letter"]
    assert letter.email_html
    assert_inert(letter.email_html, "F1", "G1")
    assert_inert(letter.html, "F1", "L1", "G1")


def test_the_letters_pdf_holds_the_payload_as_text(world):
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=verified_pdf(world["letter"]),
                          capture_output=True, check=True).stdout.decode()
    text = re.sub(r"\s+", " ", text)
    for marker in ("F1", "L1", "G1"):
        assert payload(marker) in text, marker


@pytest.mark.usefixtures("one_customer")
def test_the_builders_live_preview(client, agent, customer_dictionary, standard_layout):
    body = factories.template_body(
        ("fragment", factories.fragment(customer_dictionary, key="greeting")),
        ("agent_slot", {"name": "note", "label": "Note", "help": "", "required": True, "max_length": 500,
                        "default_text": ""}))
    template = factories.letter_template(customer_dictionary, standard_layout, [], body=body)
    client.force_login(agent)
    preview = client.post(reverse("wagtail_correspondence_letters:preview", args=[template.pk]), {
        "customer_id": "C-1001", "channel": "print", "slot:note": payload("G1"),
        "field:customer.first_name": payload("F1")}).json()
    assert_inert(preview["html"], "F1", "G1")
