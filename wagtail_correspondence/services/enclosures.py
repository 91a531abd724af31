"""Enclosures of a letter: which ones (the template's list and the agent's choice), checked
and appended to the letter's PDF after the letter, before it is sealed, stored and sent.

One sealed document per letter: print, archive, email and portal all carry the enclosures
inside the letter's PDF, and a letter pins the exact revision (and bytes) of each. Email also
attaches each enclosure as its own file (delivery/email.py), checked against the same pin."""

import hashlib
import io
from dataclasses import dataclass

from django.utils.translation import gettext as _

from ..models import Enclosure, Inclusion, LetterEnclosurePin
from ..rendering.assembly import SLOT, InputProblem, revision_objects

FIELD = "enclosures"


@dataclass(frozen=True)
class ChosenEnclosure:
    enclosure_id: int
    key: str
    title: str
    revision_id: int
    file_name: str
    file_sha256: str
    pages: int


class EnclosureIntegrityError(Exception):
    """An enclosure's stored PDF is not the one approved (its SHA-256 differs)."""


def offered(template):
    """The template's enclosure rows, in its order (``template`` may be a revision's object)."""
    return [row for row in template.enclosures.all() if row.enclosure_id]


def default_keys(template, enclosures=None):
    """What a letter carries when the agent chooses nothing: the mandatory and ticked ones."""
    enclosures = enclosures if enclosures is not None else _rows(offered(template))
    return [enclosures[row.enclosure_id].key for row in offered(template)
            if row.inclusion in (Inclusion.MANDATORY, Inclusion.PRESELECTED) and row.enclosure_id in enclosures]


def _rows(rows):
    return Enclosure.objects.only("pk", "key", "title", "live", "live_revision_id", "expired", "expire_at").in_bulk(
        [row.enclosure_id for row in rows])


def choose(template, requested):
    """The enclosures a letter carries, in order, and the problems that stop it, naming
    ``enclosures``. ``requested`` is the agent's list of keys (None: the template's choice)."""
    rows = offered(template)
    enclosures = _rows(rows)
    by_key = {enclosures[row.enclosure_id].key: row for row in rows if row.enclosure_id in enclosures}
    problems = []
    if requested is None:
        keys = default_keys(template, enclosures)
    elif not isinstance(requested, list) or not all(isinstance(key, str) for key in requested):
        return [], [InputProblem(FIELD, _("Enclosures must be a list of enclosure keys."), SLOT)]
    else:
        keys = list(requested)
        unknown = [key for key in keys if key not in by_key]
        if unknown:
            problems.append(InputProblem(FIELD, _("This template offers no enclosure %(keys)s.") % {
                "keys": ", ".join(f"'{key}'" for key in unknown)}, SLOT))
        if len(set(keys)) != len(keys):
            problems.append(InputProblem(FIELD, _("An enclosure is listed twice."), SLOT))
        for key, row in by_key.items():
            if row.inclusion == Inclusion.MANDATORY and key not in keys:
                problems.append(InputProblem(FIELD, _("“%(title)s” is always sent with this template; it cannot be "
                                                      "left out.") % {"title": enclosures[row.enclosure_id].title},
                                             SLOT))
        keys = [key for key in dict.fromkeys(keys) if key in by_key]
        if not getattr(template, "enclosures_reorderable", False):
            order = list(by_key)
            keys.sort(key=order.index)
    limit = getattr(template, "max_enclosures", None)
    if limit is not None and len(keys) > limit:
        problems.append(InputProblem(FIELD, _("At most %(max)s enclosures may go with this letter (%(count)s "
                                              "chosen).") % {"max": limit, "count": len(keys)}, SLOT))
    chosen_rows = [enclosures[by_key[key].enclosure_id] for key in keys]
    for row in chosen_rows:
        if not row.is_usable:
            problems.append(InputProblem(FIELD, _("The enclosure “%(title)s” is not approved and published.") % {
                "title": row.title}, SLOT))
    if problems:
        return [], problems
    objects = revision_objects([row.live_revision_id for row in chosen_rows])
    return [ChosenEnclosure(enclosure_id=row.pk, key=row.key, title=row.title, revision_id=row.live_revision_id,
                            file_name=objects[row.live_revision_id].file.name,
                            file_sha256=objects[row.live_revision_id].file_sha256,
                            pages=objects[row.live_revision_id].pages or 0)
            for row in chosen_rows], []


def read(chosen):
    """The approved bytes of an enclosure, checked against the SHA-256 its revision recorded."""
    from ..models.letters import letter_storage

    with letter_storage().open(chosen.file_name, "rb") as handle:
        content = handle.read()
    if hashlib.sha256(content).hexdigest() != chosen.file_sha256:
        raise EnclosureIntegrityError(_("The stored PDF of the enclosure “%(title)s” is not the one approved.") % {
            "title": chosen.title})
    return content


def append(letter_pdf, chosen):
    """The letter's PDF with each enclosure's pages after it."""
    if not chosen:
        return letter_pdf
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    letter = PdfReader(io.BytesIO(letter_pdf))
    writer.append(letter)
    for enclosure in chosen:
        writer.append(PdfReader(io.BytesIO(read(enclosure))))
    # The letter's own metadata (title, subject = reference) stays the document's.
    writer.add_metadata(dict(letter.metadata or {}))
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def pins(letter, chosen):
    return [LetterEnclosurePin(letter=letter, enclosure_id=item.enclosure_id, revision_id=item.revision_id,
                               position=position, file_sha256=item.file_sha256, pages=item.pages)
            for position, item in enumerate(chosen, start=1)]


def pin(letter, chosen):
    """Record the enclosures a generated (or held) letter carried, replacing earlier pins."""
    letter.enclosure_pins.all().delete()
    LetterEnclosurePin.objects.bulk_create(pins(letter, chosen))
