"""What the merge-field picker offers an author: each field of a data dictionary with the text
that inserts it, formatted the way its type is usually shown (``{{ balance|money }}``).

The inserted text is ordinary merge-tag text: the picker only saves typing, and the checks on
save (``rendering/fragments.py``) judge it like anything typed by hand.
"""

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.widgets import AdminAutoHeightTextInput

from . import schema

# The filter each type is shown with. Types left out print as they are (text, email, phone).
# A yes/no field is mostly a condition; printed, it reads "yes" or "no".
FILTER_FOR_TYPE = {
    schema.MONEY: "money",
    schema.NUMBER: "number",
    schema.DATE: "date",
    schema.ADDRESS: "address",
    schema.BOOLEAN: "yesno",
}

# Inside a repeating list each record has a name (the block's "item name", ``item`` unless
# the author changes it); its sub-fields are read through that name.
LIST_ITEM_NAME = "item"


def merge_tag(path, field_type):
    """``{{ path|filter }}`` for a field of ``field_type``."""
    filter_name = FILTER_FOR_TYPE.get(field_type)
    return f"{{{{ {path}|{filter_name} }}}}" if filter_name else f"{{{{ {path} }}}}"


def picker_entries(specs):
    """The picker's list: one entry per field an author can insert, in the dictionary's order.

    A list field is not printed itself (a Repeating list block goes over it); its sub-fields are
    offered as they read inside such a block, ``{{ item.amount|money }}``, with ``list`` naming
    the list they belong to."""
    index = schema.FieldIndex.from_specs(specs)
    types = dict(schema.FIELD_TYPE_CHOICES)
    entries = []
    for spec in specs:
        if spec.type == schema.LIST:
            continue
        parent = index.list_parent(spec.name)
        path = spec.name
        if parent is not None:
            path = f"{LIST_ITEM_NAME}.{spec.name[len(parent.name) + 1:]}"
        entries.append({
            "path": spec.name,
            "label": str(spec.label or spec.name),
            "type": spec.type,
            "type_label": str(types.get(spec.type, spec.type)),
            "help": str(spec.help or ""),
            "example": str(spec.example or ""),
            "tag": merge_tag(path, spec.type),
            "list": parent.name if parent is not None else "",
            "group": str(_("Inside a repeating list over %(list)s") % {"list": parent.label or parent.name})
            if parent is not None else "",
        })
    return entries


def picker_payload(dictionary):
    """The JSON the picker reads for one dictionary."""
    return {
        "dictionary": {"id": dictionary.pk, "name": dictionary.name},
        "fields": picker_entries(dictionary.field_specs()),
    }


# Marks a plain-text field for the picker: js/merge-fields.js puts its button after the field.
PICKER_ATTRS = {"data-merge-field-input": ""}


def picker_text_input():
    return forms.TextInput(attrs=PICKER_ATTRS)


def picker_textarea():
    return AdminAutoHeightTextInput(attrs=PICKER_ATTRS)
