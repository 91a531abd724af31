"""Letters that answer a register entry: the entry's reference, date and subject reach the
template as ``in_reply_to``; the builder shows the entry, keeps its form and starts on the
customer's preferred channel; the preview quotes the entry as the generated letter will."""

import copy
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from wagtail_correspondence import roles
from wagtail_correspondence.models import Department, Direction
from wagtail_correspondence.services import letters as service
from wagtail_correspondence.services.register import register_entry

from . import factories

REPLY_FIELDS = [("customer.preferred_channel", "Preferred channel", "text", False),
                ("in_reply_to.reference", "Reference answered", "text", False),
                ("in_reply_to.date", "Received on", "date", False),
                ("in_reply_to.subject", "Subject answered", "text", False),
                ("in_reply_to.their_reference", "Their reference", "text", False)]
QUOTE = "<p>Your letter of {{ in_reply_to.date|date }}, our reference {{ in_reply_to.reference }}: " \
        "{{ in_reply_to.subject }}</p>"


@pytest.fixture
def record(customers):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["preferred_channel"] = "email"
    customers(data)
    return data


@pytest.fixture
def reply_template(db, standard_layout):
    dictionary = factories.dictionary(fields=factories.CUSTOMER_FIELDS + REPLY_FIELDS)
    quote = factories.fragment(dictionary, key="quote", html=QUOTE)
    return factories.letter_template(dictionary, standard_layout, [quote], title="Reply",
                                     subject="Re: {{ in_reply_to.subject }}", channels=["print", "email"])


@pytest.fixture
def officer(make_user):
    complaints = Department.add_root(instance=Department(name="Complaints", code="complaints"))
    user = make_user("officer", roles.OFFICERS)
    complaints.members.add(user)
    return user


@pytest.fixture
def entry(officer, record):
    return register_entry(
        officer, direction=Direction.INBOUND, kind="letter", channel="post", customer_id="C-1001",
        subject="Claim 2026-CL-204: no expert visit", sender_name="Ada Peeters", external_reference="AP/17",
        department=Department.objects.get(code="complaints"), assignee=officer,
        received_at=timezone.make_aware(datetime.datetime(2026, 12, 3, 9, 30)))


def url(name, *args):
    return reverse(f"wagtail_correspondence_letters:{name}", args=args)


def test_a_reply_quotes_the_entry_it_answers(officer, entry, reply_template):
    letter = service.generate_letter(officer, service.LetterRequest(
        template=reply_template, customer_id="C-1001", in_reply_to=entry))
    assert letter.data["in_reply_to"] == {"reference": entry.reference, "date": "2026-12-03",
                                          "subject": entry.subject, "their_reference": "AP/17"}
    assert f"Your letter of 3 December 2026, our reference {entry.reference}: {entry.subject}" in letter.email_text
    assert letter.subject == f"Re: {entry.subject}"
    assert letter.channel == "email"  # the customer's preference, not the template's first channel
    # Re-rendered from what was stored, the letter still quotes the entry.
    assert service.rerender_letter(letter).html == letter.html
    # Without an entry, nothing is invented: the template's fields are missing.
    preview = service.preview_letter(officer, service.LetterRequest(template=reply_template, customer_id="C-1001"))
    assert "in_reply_to.reference" in {problem.field for problem in preview.problems}


def test_the_builder_in_reply_mode_shows_the_entry_and_the_customers_channel(client, officer, entry,
                                                                             reply_template):
    client.force_login(officer)
    response = client.get(url("build", reply_template.pk) + f"?in_reply_to={entry.reference}&customer=C-1001")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-in-reply-to="{entry.reference}"' in html and entry.subject in html and "AP/17" in html
    assert '<option value="email" selected>' in html
    # The entry fills in_reply_to: no inputs for it, unlike a letter written without an entry.
    assert 'name="field:in_reply_to.reference"' not in html
    plain = client.get(url("build", reply_template.pk)).content.decode()
    assert 'name="field:in_reply_to.reference"' in plain and "data-in-reply-to" not in plain
    # Both columns are the form's only children besides hidden inputs: nothing can shift the grid.
    form = html.split("data-letter-builder", 1)[1]
    assert form.index('class="cc-builder__inputs"') < form.index("data-in-reply-to") < form.index(
        'class="cc-builder__preview"')


def test_the_builder_names_an_entry_the_officer_may_not_see(client, officer, record, reply_template, make_user):
    client.force_login(officer)
    html = client.get(url("build", reply_template.pk) + "?in_reply_to=IN-1999-000001").content.decode()
    assert "data-reply-error" in html and "No register entry IN-1999-000001 that you may see." in html


def test_the_preview_quotes_the_entry_and_refuses_an_unknown_one(client, officer, entry, reply_template):
    client.force_login(officer)
    data = {"customer_id": "C-1001", "channel": "print", "in_reply_to": entry.reference, "idempotency_key": "k"}
    body = client.post(url("preview", reply_template.pk), data).json()
    assert body["can_generate"] is True
    assert f"our reference {entry.reference}: {entry.subject}" in body["html"]
    refused = client.post(url("preview", reply_template.pk), {**data, "in_reply_to": "IN-1999-000001"})
    assert refused.status_code == 400
    assert refused.json()["missing"][0]["field"] == "in_reply_to"
    pdf = client.post(url("preview_pdf", reply_template.pk), {**data, "in_reply_to": "IN-1999-000001"})
    assert pdf.status_code == 400


def test_the_template_choice_says_what_it_answers_and_keeps_it_through_a_search(client, officer, entry,
                                                                                reply_template):
    client.force_login(officer)
    query = f"?in_reply_to={entry.reference}&customer=C-1001"
    html = client.get(url("add") + query).content.decode()
    assert f"Choose the template of your reply to {entry.reference}." in html
    assert "English · Print, Email" in html  # channel names, not codes
    assert f'<input type="hidden" name="in_reply_to" value="{entry.reference}">' in html
    searched = client.get(url("add") + query + "&q=Reply").content.decode()
    assert f'{url("build", reply_template.pk)}?in_reply_to={entry.reference}&amp;customer=C-1001' in searched
