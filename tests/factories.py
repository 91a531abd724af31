"""Builders for test data: real model instances saved through the same paths the admin uses."""

import json

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from wagtail.blocks import StreamValue
from wagtail.rich_text import RichText

from wagtail_correspondence.blocks import FragmentBodyBlock, TemplateBodyBlock
from wagtail_correspondence.models import (
    DataDictionary, DataField, Enclosure, Fragment, Layout, LetterTemplatePage, SampleDataSet)
from wagtail_correspondence.services.setup import ensure_template_library

PASSWORD = "correct-horse-battery"

CUSTOMER_FIELDS = [
    ("customer.id", "Customer number", "text", True),
    ("customer.title", "Title", "text", False),
    ("customer.first_name", "First name", "text", True),
    ("customer.last_name", "Last name", "text", True),
    ("customer.full_name", "Full name", "text", True),
    ("customer.email", "Email", "email", False),
    ("customer.phone", "Phone", "phone", False),
    ("customer.address", "Postal address", "address", True),
    ("customer.vip", "VIP customer", "boolean", False),
    ("balance", "Outstanding balance", "money", True),
    ("due_date", "Due date", "date", False),
    ("invoices", "Open invoices", "list", False),
    ("invoices.number", "Invoice number", "text", True),
    ("invoices.amount", "Invoice amount", "money", True),
    ("invoices.due_date", "Invoice due date", "date", False),
]

SAMPLE_DATA = {
    "customer": {
        "id": "C-1001", "title": "Ms", "first_name": "Ada", "last_name": "Peeters", "full_name": "Ada Peeters",
        "email": "ada@example.org", "phone": "+32 2 555 01 23", "vip": False,
        "address": {"line1": "Rue de la Loi 16", "postal_code": "1000", "city": "Brussels", "country": "Belgium"},
    },
    "balance": "250.00",
    "due_date": "2026-12-15",
    "invoices": [{"number": "INV-1", "amount": "200.00", "due_date": "2026-11-01"},
                 {"number": "INV-2", "amount": "50.00", "due_date": "2026-11-15"}],
}


def user(username, *roles, superuser=False, **extra):
    model = get_user_model()
    if superuser:
        account = model.objects.create_superuser(username, f"{username}@example.org", PASSWORD, **extra)
    else:
        account = model.objects.create_user(username, f"{username}@example.org", PASSWORD, **extra)
    for role in roles:
        account.groups.add(Group.objects.get(name=role))
    return account


def dictionary(name="Customer", fields=CUSTOMER_FIELDS, sample=SAMPLE_DATA):
    instance = DataDictionary(name=name)
    instance.fields = [DataField(name=n, label=label, field_type=kind, required=required)
                       for n, label, kind, required in fields]
    if sample is not None:
        instance.sample_data_sets = [SampleDataSet(name="Typical customer", data=json.loads(json.dumps(sample)))]
    instance.save()
    instance.save_revision()
    return instance


def rich_text(html):
    return ("rich_text", RichText(html))


def fragment_body(*blocks):
    """Blocks as (type, value) pairs, e.g. rich_text("<p>Dear {{ customer.first_name }}</p>")."""
    return StreamValue(FragmentBodyBlock(), list(blocks))


def fragment(data_dictionary, key="greeting", title=None, html="<p>Dear {{ customer.first_name }},</p>",
             body=None, publish=True, user=None, **fields):
    instance = Fragment(title=title or key.replace("-", " ").capitalize(), key=key, data_dictionary=data_dictionary,
                        body=body if body is not None else fragment_body(rich_text(html)),
                        channels=["print", "email"], live=publish, **fields)
    instance.full_clean()
    instance.save()
    revision = instance.save_revision(user=user)
    if publish:
        revision.publish(user=user, skip_permission_checks=True)  # set-up, not a user's request
        instance.refresh_from_db()
    return instance


def layout(name="Standard letterhead", publish=True, **fields):
    instance = Layout(name=name, sender_block="Northwind Mutual · PO Box 1 · 1000 Brussels", live=publish, **fields)
    instance.full_clean()
    instance.save()
    revision = instance.save_revision()
    if publish:
        revision.publish()
        instance.refresh_from_db()
    return instance


def template_body(*blocks):
    return StreamValue(TemplateBodyBlock(), list(blocks))


def letter_template(data_dictionary, layout_instance, fragments, title="Payment reminder", publish=True, body=None,
                    **fields):
    library = ensure_template_library()
    page = LetterTemplatePage(
        title=title, data_dictionary=data_dictionary, layout=layout_instance,
        subject=fields.pop("subject", "Your account {{ customer.id }}"), channels=fields.pop("channels", ["print", "email"]),
        body=body if body is not None else template_body(*[("fragment", f) for f in fragments]), live=publish,
        **fields)
    library.add_child(instance=page)
    revision = page.save_revision()
    if publish:
        revision.publish()
        page.refresh_from_db()
    return page


def enclosure(key, title, *lines, publish=True):
    """An enclosure of the library: a generated one-page PDF with ``lines`` (else its title),
    checked as the editor checks it, and published when ``publish``."""
    from correspondence_demo.register import tiny_pdf
    from django.core.files.base import ContentFile

    item = Enclosure(title=title, key=key, file=ContentFile(tiny_pdf(lines or [title]), name=f"{key}.pdf"))
    item.full_clean()
    item.save()
    revision = item.save_revision()
    if publish:
        revision.publish()
        item.refresh_from_db()
    return item
