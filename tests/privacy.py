"""Builders shared by the retention and subject access tests: one customer's conversation
(an inbound complaint with notes and a document in two versions, the letter answering it
and the customer's portal reply with a file) and another customer's entry."""

import copy
import datetime
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from wagtail_correspondence.models import Category, Correspondence, Direction
from wagtail_correspondence.services import letters as letter_service
from wagtail_correspondence.services import portal
from wagtail_correspondence.services import register as service
from wagtail_correspondence.services.register import NewAttachment

from . import factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PDF_V2 = PDF + b"% second version\n"
RECEIPT = PDF + b"% the customer's receipt\n"

CUSTOMER = "C-7001"
OTHER_CUSTOMER = "C-7002"
# Words that only this customer's data contains: none may survive an anonymisation.
PERSONAL = ["Quirinus", "zoe.quirinus@example.net", "555 77 01", "Kerkstraat 9", "REF-ZQ-77"]


def customer_record(customer_id=CUSTOMER, first="Zoë", last="Quirinus", email="zoe.quirinus@example.net"):
    record = copy.deepcopy(factories.SAMPLE_DATA)
    record["customer"].update(id=customer_id, first_name=first, last_name=last, full_name=f"{first} {last}",
                              email=email, phone="+32 2 555 77 01",
                              address={"line1": "Kerkstraat 9", "postal_code": "9000", "city": "Gent",
                                       "country": "Belgium"})
    return record


def later(days):
    return timezone.now() + datetime.timedelta(days=days)


def categories():
    complaints = Category.add_root(name="Complaints", code="complaints")
    delay = complaints.add_child(name="Delay", code="complaints-delay")
    complaints = Category.objects.get(pk=complaints.pk)
    staff = complaints.add_child(name="Staff", code="complaints-staff")
    billing = Category.add_root(name="Billing", code="billing")
    return {category.code: category for category in (complaints, delay, staff, billing)}


def register(user, **fields):
    values = {"subject": "A question", "kind": "letter", "channel": "post"}
    values.update(fields)
    return service.register_entry(user, **values)


def close(user, entry):
    entry.refresh_from_db()
    if entry.status != "closed":
        service.transition(user, entry, "close", reason="Settled")
    entry.refresh_from_db()
    return entry


def reply_template():
    dictionary = factories.dictionary()
    layout = factories.layout()
    fragment = factories.fragment(dictionary, key="greeting",
                                  html="<p>Dear {{ customer.full_name }}, {{ customer.address.line1 }}</p>")
    return factories.letter_template(dictionary, layout, [fragment], channels=["print", "portal"])


@dataclass
class Conversation:
    complaint: Correspondence  # inbound, the first entry
    outbound: Correspondence  # the letter's entry, in reply to the complaint
    reply: Correspondence  # the customer's portal reply, in reply to the letter
    letter: object

    @property
    def entries(self):
        return [self.complaint, self.outbound, self.reply]

    def refresh(self):
        for entry in self.entries:
            entry.refresh_from_db()
        self.letter.refresh_from_db()


def conversation(officer, capture, category=None, subject="Delay in my claim", closed=True):
    """A complaint of CUSTOMER answered by a letter (portal) and the customer's portal reply,
    all closed unless ``closed`` is False. ``capture`` is django_capture_on_commit_callbacks."""
    complaint = register(
        officer, subject=subject, body="My claim REF-ZQ-77 is late. Zoë Quirinus, Kerkstraat 9, Gent.",
        sender_name="Zoë Quirinus", sender_organisation="Quirinus bvba", sender_address="Kerkstraat 9\n9000 Gent",
        sender_email="zoe.quirinus@example.net", sender_phone="+32 2 555 77 01", customer_id=CUSTOMER,
        external_reference="REF-ZQ-77", category=category, assignee=officer, tags=["claims"],
        recipients=[{"name": "Claims desk", "email": "claims@example.org"}],
        attachments=[NewAttachment(content=PDF, filename="Quirinus-scan.pdf", title="Scan Quirinus")])
    service.update_entry(officer, complaint, {"resolution": "Paid Zoë Quirinus the delay interest"})
    service.add_note(officer, complaint, "Called Zoë Quirinus on +32 2 555 77 01")
    attachment = complaint.attachments.get()
    service.add_attachment(officer, complaint, SimpleUploadedFile("Quirinus-scan-2.pdf", PDF_V2),
                           attachment=attachment, comment="Better scan")
    with capture(execute=True):
        letter = letter_service.generate_letter(officer, letter_service.LetterRequest(
            template=reply_template(), customer_id=CUSTOMER, channel="portal", in_reply_to=complaint))
    outbound = Correspondence.objects.get(letter=letter)
    dispatch = letter.dispatches.get(channel="portal")
    with capture(execute=True):
        portal.reply(dispatch, "Here is my receipt. Zoë Quirinus", SimpleUploadedFile("receipt.pdf", RECEIPT))
    reply = Correspondence.objects.get(direction=Direction.INBOUND, portal_response__isnull=False)
    assert reply.customer_id == CUSTOMER and reply.thread_root_id == complaint.pk
    if closed:
        for entry in (reply, outbound, complaint):
            close(officer, entry)
    result = Conversation(complaint=Correspondence.objects.get(pk=complaint.pk), outbound=outbound, reply=reply,
                          letter=letter)
    result.refresh()
    return result
