"""The history of a register entry, read from its django-reversion versions: who changed
what and when, as a field-by-field diff, and restoring the values of an earlier version.

Restoring goes through ``update_entry`` like any edit: it becomes a new version, and it only
touches the fields a person edits. Status, department and assignee have their own rules
(the status machine, assignment) and are never rewound by a restore.
"""

import datetime
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reversion.models import Version
from taggit.models import Tag
from wagtail.log_actions import log

from .. import log_actions
from ..models import Correspondence, TaggedCorrespondence
from . import register_access as access
from .register import EDITABLE_FIELDS, update_entry

# Fields shown in the history, in this order (attribute names as stored in versions).
TRACKED_FIELDS = ["status", "department_id", "assignee_id", "due_at"] + [
    f"{name}_id" if name == "category" else name for name in EDITABLE_FIELDS] + ["delivery_status", "closed_at"]

# Labels the entry's forms use where the model's own name would read oddly in the history.
LABELS = {"customer_id": gettext_lazy("Customer number"), "tags": gettext_lazy("Tags"),
          "body": gettext_lazy("Body or summary"), "received_at": gettext_lazy("Received"),
          "sent_at": gettext_lazy("Sent"), "due_at": gettext_lazy("Due"), "closed_at": gettext_lazy("Closed")}


@dataclass
class FieldChange:
    name: str
    label: str
    old: str
    new: str


@dataclass
class HistoryItem:
    version: Version
    number: int
    user: object
    date: object
    comment: str
    changes: list = field(default_factory=list)
    restorable: bool = False


def _field(name):
    """The model field a stored attribute belongs to: ``customer_id`` is a field of its own,
    ``assignee_id`` the column of ``assignee``."""
    if name == "tags":
        return None
    for candidate in (name, name[:-3] if name.endswith("_id") else None):
        if candidate is None:
            continue
        try:
            model_field = Correspondence._meta.get_field(candidate)
        except FieldDoesNotExist:
            continue
        if candidate == name and model_field.is_relation:
            continue  # ``name`` is the relation's own name, not its column
        return model_field
    return None


def _label(name):
    if name in LABELS:
        return str(LABELS[name])
    model_field = _field(name)
    return str(model_field.verbose_name).capitalize() if model_field is not None else name


def _moment(value):
    """A stored date or time as the reader's locale writes it, in the reader's time zone (the
    admin activates the user's own): versions keep UTC with microseconds."""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return date_format(value, "SHORT_DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return None


def _display(name, value):
    if value in (None, "", []):
        return "—"
    moment = _moment(value)
    if moment is not None:
        return moment
    model_field = _field(name)
    if model_field is None:
        return str(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.is_relation:
        related = model_field.related_model.objects.filter(pk=value).first()
        if related is None:
            return _("(deleted #%(id)s)") % {"id": value}
        if hasattr(related, "get_username"):
            return related.get_full_name() or related.get_username()
        return str(related)
    if isinstance(value, list):
        return "; ".join(", ".join(f"{key}: {val}" for key, val in item.items() if val) if isinstance(item, dict)
                         else str(item) for item in value)
    return str(value)


def _tags(version):
    content_type = ContentType.objects.get_for_model(TaggedCorrespondence)
    tag_ids = [item.field_dict.get("tag_id") for item in
               version.revision.version_set.filter(content_type=content_type)]
    names = Tag.objects.filter(pk__in=[pk for pk in tag_ids if pk]).values_list("name", flat=True)
    return sorted(names, key=str.lower)


def _values(version):
    values = dict(version.field_dict)
    values["tags"] = ", ".join(_tags(version))
    return values


def versions(entry):
    return list(Version.objects.get_for_object(entry).select_related("revision", "revision__user")
                .order_by("revision__date_created", "pk"))


def history(entry, user=None):
    """Every version of ``entry``, newest first, each with what it changed."""
    items, previous = [], None
    may_restore = user is not None and access.can_restore(user, entry)
    for number, version in enumerate(versions(entry), start=1):
        values = _values(version)
        changes = []
        for name in TRACKED_FIELDS + ["tags"]:
            old = previous.get(name) if previous is not None else None
            new = values.get(name)
            if previous is None and new in (None, "", [], {}):
                continue
            if old != new:
                changes.append(FieldChange(name, _label(name), _display(name, old) if previous else "",
                                           _display(name, new)))
        items.append(HistoryItem(version=version, number=number, user=version.revision.user,
                                 date=version.revision.date_created, comment=version.revision.get_comment(),
                                 changes=changes, restorable=may_restore))
        previous = values
    if items:
        items[-1].restorable = False  # the newest version is the current state
    return list(reversed(items))


def restore(user, entry, version_id):
    """Put back the edited values (and tags) of an earlier version, as a new version."""
    access.require(access.can_restore(user, entry), _("You may not restore earlier values."))
    all_versions = versions(entry)
    version = next((item for item in all_versions if item.pk == int(version_id)), None)
    if version is None:
        raise Version.DoesNotExist(f"no version {version_id} of {entry.reference}")
    number = all_versions.index(version) + 1
    values = version.field_dict
    changes = {name: values.get(name) for name in EDITABLE_FIELDS if name != "category"}
    changes["category_id"] = values.get("category_id")
    updated = update_entry(user, entry, changes, tags=_tags(version), comment=_(
        "Restored the values of version %(number)s (%(date)s)") % {
        "number": number, "date": version.revision.date_created.strftime("%Y-%m-%d %H:%M")})
    log(updated, log_actions.REGISTER_RESTORED, user=user, data={
        "reference": entry.reference, "version": number, "fields": [name for name in changes]})
    return updated
