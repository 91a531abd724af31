"""Letter operations shared by the letter builder, the API and batch jobs: preview, save a
draft, generate (reference number, pinned revisions, HTML, PDF, SHA-256), re-render.

Views and serializers only translate requests into ``LetterRequest`` and errors into
responses; every rule lives here, so the admin and the API behave the same.
"""

import hashlib
import io
import json
from dataclasses import dataclass, field, replace

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.coreutils import get_content_languages, get_supported_content_language_variant
from wagtail.log_actions import log

from .. import log_actions, pdf_seal
from ..conf import get_setting
from ..customers import CustomerNotFound, get_customer_source
from ..encryption import DecryptionError
from ..models import Letter, LetterFragmentPin, LetterStatus, LetterTemplatePage
from ..rendering.assembly import (
    CONTENT,
    DATA,
    ContentSources,
    ContentUnavailable,
    InputProblem,
    LetterInput,
    assemble,
    live_sources,
    revision_objects,
    tailoring_bounds,
)
from ..rendering import redline, tailoring
from ..rendering.pdf import PageSetup, PdfMetadata, PdfRenderingError, render_pdf
from . import enclosures, letter_approval
from .dispatch import plan_dispatches
from .letter_access import (  # noqa: F401 - can_view_letter is used through here
    can_view_letter, letter_department, may_list_letters, visible_letters)
from .numbering import next_reference
from .register_links import register_letter, reply_facts

ADD_LETTER = "wagtail_correspondence.add_letter"
CHANGE_LETTER = "wagtail_correspondence.change_letter"
VIEW_LETTER = "wagtail_correspondence.view_letter"
EDITABLE_STATUSES = (LetterStatus.DRAFT, LetterStatus.RETURNED)


class LetterError(Exception):
    """Input that cannot become a letter; ``problems`` name the fields to fix."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(f"{problem.field}: {problem.message}" for problem in self.problems))


class IdempotencyConflict(Exception):
    """The idempotency key was used before with a different request."""


@dataclass
class LetterRequest:
    """What an agent asks for. ``data`` overrides the customer record field by field, or is
    the whole record when no customer is given."""

    template: LetterTemplatePage
    customer_id: str = ""
    data: dict | None = None
    slots: dict = field(default_factory=dict)
    optional_fragments: list | None = None
    channel: str = ""
    in_reply_to: object = None  # the Correspondence entry the letter answers
    enclosures: list | None = None  # keys, in order; None: the template's choice
    # Tailoring within the template's bounds (rendering/tailoring.py): paragraph name →
    # {"html": …} or {"removed": true} (with "based_on", the approved revision); zone name →
    # fragment keys and "page_break". None: nothing tailored, the template's start.
    edits: dict | None = None
    zones: dict | None = None
    # The letter's language: empty means the customer's (``customer.language`` in the data),
    # else the template's.
    language: str = ""

    def fingerprint(self):
        payload = {"template": self.template.pk, "customer_id": self.customer_id, "data": self.data,
                   "slots": self.slots, "optional_fragments": self.optional_fragments, "channel": self.channel,
                   "in_reply_to": self.in_reply_to.pk if self.in_reply_to is not None else None}
        for name in ("enclosures", "edits", "zones", "language"):
            if getattr(self, name) is not None:
                payload[name] = getattr(self, name)
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# Permissions ---------------------------------------------------------------------------


def can_build_letters(user):
    return user.is_active and user.has_perm(ADD_LETTER)


def can_edit_draft(user, letter):
    """Drafts belong to the agent who started them; administrators may take them over. A
    letter returned by its approver is a draft again for them (under its reference)."""
    if letter.status not in EDITABLE_STATUSES or not user.is_active:
        return False
    return (letter.created_by_id == user.pk and user.has_perm(ADD_LETTER)) or user.is_superuser


def editable_drafts(user, queryset):
    """The same rule as ``can_edit_draft``, as a filter of ``queryset``."""
    if not user.is_active:
        return queryset.none()
    drafts = queryset.filter(status__in=EDITABLE_STATUSES)
    if user.is_superuser:
        return drafts
    return drafts.filter(created_by=user) if user.has_perm(ADD_LETTER) else queryset.none()


def require(allowed, message):
    if not allowed:
        raise PermissionDenied(message)


def available_templates():
    """Templates agents may use: published ones. Drafts and folders never appear, nor the
    language variants of a template (a letter takes its variant in the letter's language)."""
    # The default locale by its code: building the queryset asks the database nothing.
    default = get_supported_content_language_variant(settings.LANGUAGE_CODE)
    has_source = LetterTemplatePage.objects.filter(translation_key=OuterRef("translation_key"),
                                                   locale__language_code=default)
    # The concrete model: its rows are already the specific pages (``.specific()`` would ask again).
    return LetterTemplatePage.objects.live().filter(live_revision__isnull=False).filter(
        Q(locale__language_code=default) | ~Exists(has_source)).order_by("path")


# Data -----------------------------------------------------------------------------------


def deep_merge(base, overrides):
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def resolve_data(customer_id, data):
    """The letter's data: the customer's record from the data source, with ``data`` on top."""
    if data is not None and not isinstance(data, dict):
        raise LetterError([InputProblem("data", _("The data must be a JSON object."), "data")])
    if not customer_id:
        if data is None:
            raise LetterError([InputProblem("customer_id", _("Give a customer or the letter's data."), "data")])
        return data
    try:
        record = get_customer_source().get(customer_id)
    except CustomerNotFound:
        raise LetterError([InputProblem("customer_id", _("No customer '%(id)s' in the customer data source.") % {
            "id": customer_id}, "data")]) from None
    return deep_merge(record, data or {})


def request_data(request):
    """The data a request's letter is built from: the customer record, the facts of the entry
    it answers (``in_reply_to``), then the request's own data, which may correct either."""
    facts = reply_facts(request.in_reply_to)
    data = resolve_data(request.customer_id, request.data)
    return deep_merge(facts, data) if facts else data


def default_channel(template, data):
    # The data comes from callers: "customer" may be anything, not only an object.
    customer = data.get("customer") if isinstance(data, dict) else None
    preferred = customer.get("preferred_channel") if isinstance(customer, dict) else None
    channels = template.channels or []
    if preferred in channels:
        return preferred
    return channels[0] if channels else ""


def channel_choices():
    """(code, label) of every channel the site knows."""
    return get_setting("CHANNELS")


def letter_input(request, data, **extra):
    return LetterInput(data=data, slots=request.slots if request.slots is not None else {},
                       optional_fragments=request.optional_fragments, edits=request.edits, zones=request.zones,
                       channel=request.channel or default_channel(request.template, data), **extra)


def content_language_choices():
    """(code, name) of the languages letters may be written in: those of the site's letters
    (LANGUAGES) that content is written in (WAGTAIL_CONTENT_LANGUAGES)."""
    content = set(get_content_languages())
    return [(code, label) for code, label in get_setting("LANGUAGES") if code in content]


def letter_language(request, data):
    """The language a letter is written in: the one asked for, else the customer's
    (``customer.language`` in the data, when it is a language of the site), else the
    template's."""
    # The languages content is written in (WAGTAIL_CONTENT_LANGUAGES) among those letters may
    # be in: a customer speaking another one gets the template's language.
    known = {code for code, _label in content_language_choices()}
    if request.language:
        if request.language not in known:
            raise LetterError([InputProblem("language", _("“%(language)s” is not a language letters are written in "
                                                          "here.") % {"language": request.language}, DATA)])
        return request.language
    customer = (data or {}).get("customer") if isinstance(data, dict) else None
    spoken = str(customer.get("language") or "").strip().lower() if isinstance(customer, dict) else ""
    return spoken if spoken in known else request.template.language


def _sources(template, language=None):
    try:
        return live_sources(template, language=language)
    except ContentUnavailable as exc:
        raise LetterError([InputProblem("template", str(exc), CONTENT)]) from exc


class SourcesByLanguage:
    """A template's content in each language its letters are written in, read once per
    language (a batch: one row in French, the next in Dutch). A language the content cannot be
    had in raises LetterError every time it is asked for; the template's own language is read
    at once, so a template that cannot be used at all raises here."""

    def __init__(self, template):
        self.template = template
        own = _sources(template)
        self.by_language = {own.language: own}

    def get(self, language):
        if language not in self.by_language:
            try:
                self.by_language[language] = _sources(self.template, language)
            except LetterError as exc:
                self.by_language[language] = exc
        found = self.by_language[language]
        if isinstance(found, LetterError):
            raise found
        return found

    @property
    def own(self):
        return self.by_language[self.template.language]


def _check_template(template):
    if not isinstance(template, LetterTemplatePage) or not template.live:
        raise LetterError([InputProblem("template", _("Choose a published letter template."), CONTENT)])


# Operations -----------------------------------------------------------------------------


def preview_letter(user, request):
    """Assemble with live content; nothing is saved. Returns the AssembledLetter, whose
    ``problems`` list everything that stops generation."""
    require(can_build_letters(user), _("You may not build letters."))
    _check_template(request.template)
    data = request_data(request)
    sources = _sources(request.template, letter_language(request, data))
    letter = assemble(sources, letter_input(request, data))
    letter.enclosures, problems = enclosures.choose(sources.template, request.enclosures)
    letter.problems += problems
    return letter


def preview_payload(letter):
    """What a preview shows, the same for the builder and the API."""
    fragments = letter.sources.fragments
    return {
        "can_generate": letter.can_generate,
        "missing": [problem.as_dict() for problem in letter.problems],
        "channel": letter.input.channel,
        "language": letter.sources.language or letter.template.language,
        "language_fallbacks": letter.sources.fallbacks,
        "subject": letter.subject,
        "html": letter.html,
        "email": {"subject": letter.email_subject, "html": letter.email_html, "text": letter.email_text},
        "sms": letter.sms.as_dict() if letter.sms else None,
        "fragments": [{"key": fragments[pk].key, "title": fragments[pk].title,
                       "revision": letter.sources.fragment_revision_ids.get(pk)}
                      for pk in letter.included_fragment_ids if pk in fragments],
        "enclosures": [{"key": item.key, "title": item.title, "revision": item.revision_id, "pages": item.pages}
                       for item in getattr(letter, "enclosures", [])],
    }


def _recipient_name(template, data):
    value = data
    for part in (template.recipient_name_field or "").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return str(value)[:255] if value else ""


def _apply_request(letter, request, data):
    letter.template = request.template
    letter.customer_id = request.customer_id or str(((data or {}).get("customer") or {}).get("id", ""))[:100]
    letter.recipient_name = _recipient_name(request.template, data)
    letter.data = data
    letter.data_overrides = request.data
    letter.slot_values = request.slots or {}
    letter.optional_fragments = request.optional_fragments
    letter.enclosure_keys = request.enclosures
    # A draft keeps what the agent asked for; generation stores the checked form (_generate).
    letter.fragment_edits = request.edits or {}
    letter.zone_choices = request.zones
    letter.channels = [request.channel or default_channel(request.template, data)]
    letter.language = request.language or request.template.language  # the sources' language: _set_revisions
    letter.language_requested = request.language or ""
    letter.in_reply_to = request.in_reply_to
    if letter.in_reply_to is not None or letter.department_id is None:
        letter.department = letter_department(letter.created_by, letter.in_reply_to)


@transaction.atomic
def save_draft(user, request, letter=None):
    """Create or update a draft. Drafts may be incomplete; they are checked on generation."""
    require(can_build_letters(user), _("You may not build letters."))
    _check_template(request.template)
    data = request_data(request)
    if letter is None:
        letter = Letter(created_by=user)
        action = log_actions.LETTER_CREATED
    else:
        letter = Letter.objects.select_for_update().get(pk=letter.pk)
        require(can_edit_draft(user, letter), _("Only the agent who started this draft may change it."))
        action = log_actions.LETTER_DRAFT_SAVED
    sources = _sources(request.template, letter_language(request, data))
    # A draft may lack data or text, but never asks for what its template forbids.
    bounds = tailoring_bounds(sources.template, request.edits, request.zones)
    if bounds:
        raise LetterError(bounds)
    _apply_request(letter, request, data)
    _set_revisions(letter, sources)
    letter.save()
    _pin_fragments(letter, sources)
    log(letter, action, user=user, data={"template": request.template.title, "customer_id": letter.customer_id})
    return letter


def _set_revisions(letter, sources):
    letter.language = sources.language or letter.language
    letter.language_fallbacks = sources.fallbacks
    letter.template_revision_id = sources.template_revision_id
    letter.layout_revision_id = sources.layout_revision_id
    letter.dictionary_revision_id = sources.dictionary_revision_id


def _pin_fragments(letter, sources, included=None):
    """One pin per fragment the template references; ``included`` (ids) marks those the
    letter actually contains (None: all, for drafts)."""
    letter.fragment_pins.all().delete()
    LetterFragmentPin.objects.bulk_create(fragment_pins(letter, sources, included))


def fragment_pins(letter, sources, included=None):
    """The pins of the fragments used: in a letter in another language, the variants (their
    own ids and revisions), not the fragments the template references."""
    return [LetterFragmentPin(letter=letter, fragment_id=sources.fragment_ids.get(fragment_id, fragment_id),
                              revision_id=revision_id, included=included is None or fragment_id in included)
            for fragment_id, revision_id in sources.fragment_revision_ids.items()]


def generate_letter(user, request, draft=None, idempotency_key=None):
    """Generate a letter: reference number, pinned revisions, every output and the PDF, in
    one transaction. Raises LetterError listing every problem when the letter is not ready.

    With ``idempotency_key``, a repeated request returns the letter made the first time
    (and ``letter.replayed`` is True); the same key with another request is refused.
    """
    require(can_build_letters(user), _("You may not build letters."))
    fingerprint = request.fingerprint()
    if idempotency_key:
        existing = _replay(user, idempotency_key, fingerprint)
        if existing is not None:
            return existing
    try:
        letter = _generate(user, request, draft, idempotency_key, fingerprint)
    except IntegrityError:
        # A concurrent request with the same key won the race; its letter is the answer.
        existing = _replay(user, idempotency_key, fingerprint) if idempotency_key else None
        if existing is None:
            raise
        return existing
    letter.replayed = False
    return letter


def _replay(user, key, fingerprint):
    existing = Letter.objects.filter(created_by=user, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint and existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(_("This Idempotency-Key was already used for a different request."))
    existing.replayed = True
    return existing


def _generate(user, request, draft, idempotency_key, fingerprint):
    _check_template(request.template)
    data = request_data(request)
    sources = _sources(request.template, letter_language(request, data))
    stored_file = replaced_file = None
    try:
        with transaction.atomic():
            if draft is not None:
                letter = Letter.objects.select_for_update().get(pk=draft.pk)
                require(can_edit_draft(user, letter), _("Only the agent who started this draft may generate it."))
            else:
                letter = Letter(created_by=user)
            resubmitted = letter.is_returned
            now = timezone.now()
            today = timezone.localdate(now)
            # A letter returned by its approver keeps its number: the approver and the
            # register know it by it.
            reference = letter.reference if resubmitted else next_reference(
                get_setting("LETTER_REFERENCE_PATTERN"), when=today)
            assembled = assemble(sources, letter_input(request, data, reference=reference, letter_date=today,
                                                       created=now))
            chosen, enclosure_problems = enclosures.choose(sources.template, request.enclosures)
            if assembled.problems or enclosure_problems:
                raise LetterError(assembled.problems + enclosure_problems)  # rolls the reference number back too

            _apply_request(letter, request, data)
            letter.fragment_edits, letter.zone_choices = assembled.edits, assembled.zones or None
            reasons = letter_approval.approval_reasons(letter, assembled)
            if resubmitted:
                # Once held, a letter goes out only with an approver's yes.
                reasons = reasons or list(letter.approval_reasons) or [_("returned for changes")]
            _set_revisions(letter, sources)
            _store_outputs(letter, assembled)
            letter.reference = reference
            letter.status = LetterStatus.PENDING_APPROVAL if reasons else LetterStatus.GENERATED
            letter.approval_reasons = reasons
            letter.generated_at = now
            letter.generated_by = user
            letter.idempotency_key = idempotency_key or None
            letter.request_fingerprint = fingerprint if idempotency_key else ""

            pdf = _render_letter_pdf(assembled, sources, reference, chosen)
            replaced_file = letter.pdf.name if resubmitted and letter.pdf else None
            stored_file = store_pdf(letter, pdf)
            letter.save()
            _pin_fragments(letter, sources, included=set(assembled.included_fragment_ids))
            enclosures.pin(letter, chosen)
            details = {"reference": reference, "template": request.template.title,
                       "template_revision": sources.template_revision_id, "pdf_sha256": pdf.sha256,
                       "fragments": sources.fragment_revision_ids and {
                           str(k): v for k, v in sources.fragment_revision_ids.items()}}
            if assembled.tailored:
                details["tailored"] = tailoring_record(assembled)
            if assembled.zones:
                details["zones"] = assembled.zones
            if reasons:
                # Held for a second person: nothing is sent and nothing is registered yet.
                log(letter, log_actions.LETTER_RESUBMITTED if resubmitted else log_actions.LETTER_SUBMITTED,
                    user=user, data={**details, "reasons": reasons})
                letter_approval.notify(letter, "submitted")
            else:
                plan_dispatches(letter)  # sent by the workers once this transaction commits
                register_letter(letter, user)  # its outbound register entry, same number
                log(letter, log_actions.LETTER_GENERATED, user=user, data=details)
            if replaced_file:
                storage = letter.pdf.storage
                transaction.on_commit(lambda: storage.delete(replaced_file))
    except BaseException:
        if stored_file:
            letter.pdf.storage.delete(stored_file)
        raise
    return letter


def _store_outputs(letter, assembled):
    letter.subject = assembled.subject[:500]
    letter.html = assembled.html
    letter.html_sha256 = hashlib.sha256(assembled.html.encode("utf-8")).hexdigest()
    letter.email_subject = assembled.email_subject[:500]
    letter.email_html = assembled.email_html
    letter.email_text = assembled.email_text
    letter.sms_text = assembled.sms.text if assembled.sms else ""


def _render_letter_pdf(assembled, sources, reference, chosen=()):
    """The letter's final PDF: rendered, its enclosures (``chosen``) appended, then sealed
    when a seal is configured (before it is stored, archived or sent, so that every copy is
    the sealed one, enclosures included)."""
    metadata = PdfMetadata(title=assembled.subject or assembled.template.title, subject=reference,
                           author=get_setting("ORGANISATION_NAME"), created=assembled.input.created)
    try:
        pdf = render_pdf(assembled.html, metadata, page=PageSetup.for_layout(sources.layout),
                         variant=get_setting("PDF_VARIANT"))
    except PdfRenderingError as exc:
        raise LetterError([InputProblem("pdf", str(exc), CONTENT)]) from exc
    if chosen:
        try:
            pdf = replace(pdf, content=enclosures.append(pdf.content, chosen),
                          pages=pdf.pages + sum(item.pages for item in chosen))
        except enclosures.EnclosureIntegrityError as exc:
            raise LetterError([InputProblem(enclosures.FIELD, str(exc), CONTENT)]) from exc
    if not pdf_seal.sealing_enabled():
        return pdf
    try:
        sealed = pdf_seal.seal(pdf.content, when=assembled.input.created)
        return replace(pdf, content=sealed, sealed_by=pdf_seal.certificate_fingerprint())
    except pdf_seal.SealError as exc:
        raise LetterError([InputProblem("pdf", str(exc), CONTENT)]) from exc


def tailoring_record(assembled, pieces=False):
    """What the agent changed in approved wording, as the audit log, the API and the letter
    page show it: per paragraph, the fragment and revision it started from and a redline
    against it (``pieces``: also the styled pieces, for screens)."""
    revisions = assembled.sources.fragment_revision_ids
    fragments = assembled.sources.fragments
    record = []
    for item in assembled.tailored:
        changes = redline.redline(item.approved_html, item.html, styles=True)
        entry = {"name": item.name, "label": item.label,
                 "fragment": getattr(fragments.get(item.fragment_id), "key", item.fragment_id),
                 "revision": revisions.get(item.fragment_id), "removed": item.removed,
                 "redline": redline.as_text(changes)}
        if pieces:
            entry["changes"] = redline.as_dicts(changes)
        record.append(entry)
    return record


def letter_tailoring(letter):
    """``tailoring_record`` of a numbered letter, from its record (re-rendered from its pinned
    revisions); empty when the agent changed no approved wording."""
    if not letter.has_output or not letter.fragment_edits:
        return []
    return tailoring_record(rerender_letter(letter), pieces=True)


def tailorable_fragments(template):
    """The paragraphs of a template agents may change, with the approved wording (as the
    agent edits it) and its live revision: what the builder and the API start an edit from."""
    found = []
    for block in template.tailorable_fragments():
        fragment = block["fragment"]
        live = fragment.live_object() if fragment is not None and fragment.is_usable else None
        approved = tailoring.editable_html(live.body) if live is not None else None
        approved = tailoring.cleaned_edit(approved, block) if approved is not None else None
        found.append({"name": block["name"], "label": block["label"], "fragment": getattr(fragment, "key", None),
                      "agents_may": block["agents_may"], "allow_links": block["allow_links"],
                      "max_length": block["max_length"], "approved_html": approved,
                      "revision": fragment.live_revision_id if live is not None else None})
    return found


def store_pdf(letter, pdf):
    """Keep the letter's final PDF (a RenderedPdf) with what is recorded about it; returns the
    stored file's name (the caller removes it if its transaction fails)."""
    letter.pdf_sha256 = pdf.sha256
    letter.pdf_pages = pdf.pages
    letter.pdf_sealed_by = pdf.sealed_by
    letter.pdf.save(f"{letter.reference}.pdf", ContentFile(pdf.content), save=False)
    return letter.pdf.name


def preview_pdf(user, request):
    """A PDF of the preview, for checking page breaks before generating; nothing is saved."""
    letter = preview_letter(user, request)
    metadata = PdfMetadata(title=letter.subject or letter.template.title, subject=_("Preview"),
                           author=get_setting("ORGANISATION_NAME"))
    pdf = render_pdf(letter.html, metadata, page=PageSetup.for_layout(letter.sources.layout))
    chosen = getattr(letter, "enclosures", [])
    if chosen and not any(problem.field == enclosures.FIELD for problem in letter.problems):
        pdf = replace(pdf, content=enclosures.append(pdf.content, chosen),
                      pages=pdf.pages + sum(item.pages for item in chosen))
    return pdf


# Reproduction ----------------------------------------------------------------------------


def pinned_sources(letter):
    """The content exactly as it was when the letter was generated, from its revisions. The
    pins name the fragments used (a variant in the letter's language), the template names
    the fragments it references: they are matched by their shared translation key."""
    pins = list(letter.fragment_pins.values_list("fragment_id", "revision_id"))
    objects = revision_objects([*(revision_id for _pk, revision_id in pins), letter.template_revision_id,
                                letter.layout_revision_id, letter.dictionary_revision_id])
    template = objects[letter.template_revision_id]
    # (A revision written before fragments were translatable holds no translation key; such
    # letters pinned the referenced fragments themselves, matched by id.)
    by_id = dict(pins)
    by_key = {objects[revision_id].translation_key: (fragment_id, revision_id) for fragment_id, revision_id in pins}
    fragments, revision_ids, fragment_ids = {}, {}, {}
    for fragment, _where, _position in template.referenced_fragments():
        if fragment.pk in fragments:
            continue
        if fragment.pk in by_id:
            fragment_ids[fragment.pk], revision_ids[fragment.pk] = fragment.pk, by_id[fragment.pk]
        elif fragment.translation_key in by_key:
            fragment_ids[fragment.pk], revision_ids[fragment.pk] = by_key[fragment.translation_key]
        else:
            continue
        fragments[fragment.pk] = objects[revision_ids[fragment.pk]]
    return ContentSources(
        template=template,
        layout=objects[letter.layout_revision_id],
        dictionary=objects[letter.dictionary_revision_id],
        fragments=fragments, template_revision_id=letter.template_revision_id,
        layout_revision_id=letter.layout_revision_id, dictionary_revision_id=letter.dictionary_revision_id,
        fragment_revision_ids=revision_ids, language=letter.language, fragment_ids=fragment_ids,
        fallbacks=letter.language_fallbacks)


def rerender_letter(letter):
    """Assemble a generated letter again from its pinned revisions and stored input. The
    print HTML is byte-identical to the stored one as long as the pinned content exists."""
    if not letter.has_output:
        raise ValueError("only numbered letters have pinned revisions to re-render from")
    generated_at = letter.generated_at
    return assemble(pinned_sources(letter), LetterInput(
        data=letter.data, slots=letter.slot_values, optional_fragments=letter.optional_fragments,
        edits=letter.fragment_edits or None, zones=letter.zone_choices, channel=letter.channel,
        reference=letter.reference, letter_date=timezone.localdate(generated_at), created=generated_at))


def request_for_draft(letter, **changes):
    """The LetterRequest a draft stands for: resuming it reads the customer record afresh and
    applies the agent's changes on top."""
    values = {"template": letter.template.specific, "customer_id": letter.customer_id,
              "data": letter.data_overrides, "slots": letter.slot_values,
              "optional_fragments": letter.optional_fragments, "channel": letter.channel,
              "in_reply_to": letter.in_reply_to, "enclosures": letter.enclosure_keys,
              "edits": letter.fragment_edits or None, "zones": letter.zone_choices}
    values.update(changes)
    return LetterRequest(**values)


class LetterIntegrityError(Exception):
    """A stored PDF no longer matches the SHA-256 recorded when it was generated."""


def verified_pdf(letter):
    """The PDF's bytes, checked against the SHA-256 recorded when it was generated."""
    try:
        with letter.pdf.open("rb") as handle:
            content = handle.read()
    except DecryptionError as exc:  # altered ciphertext fails its HMAC, or the key is gone
        raise LetterIntegrityError(_("The stored PDF of %(reference)s cannot be decrypted: %(error)s") % {
            "reference": letter.reference, "error": exc}) from exc
    if hashlib.sha256(content).hexdigest() != letter.pdf_sha256:
        raise LetterIntegrityError(_("The stored PDF of %(reference)s does not match its recorded SHA-256.") % {
            "reference": letter.reference})
    return content


@dataclass
class PdfCheck:
    """What a check of a letter's stored PDF found (``check_letter_pdf``)."""

    reference: str
    stored_pdf_matches: bool  # the stored file is the one whose SHA-256 was recorded at generation
    seal_expected: bool  # the letter was sealed when it was generated
    seal: pdf_seal.SealCheck | None = None
    problem: str = ""

    @property
    def ok(self):
        return self.stored_pdf_matches and (not self.seal_expected or (self.seal is not None and self.seal.ok))

    def as_dict(self):
        return {"reference": self.reference, "ok": self.ok, "stored_pdf_matches": self.stored_pdf_matches,
                "seal_expected": self.seal_expected, "seal": self.seal.as_dict() if self.seal else None,
                "problem": self.problem}


def check_letter_pdf(letter):
    """Is the stored PDF the one generated, and (if it was sealed) is its seal intact, by the
    certificate recorded at generation, and trusted? Reads and checks; changes nothing."""
    try:
        content = verified_pdf(letter)
    except LetterIntegrityError as exc:
        return PdfCheck(letter.reference, stored_pdf_matches=False, seal_expected=bool(letter.pdf_sealed_by),
                        problem=str(exc))
    except OSError as exc:
        return PdfCheck(letter.reference, stored_pdf_matches=False, seal_expected=bool(letter.pdf_sealed_by),
                        problem=_("The stored PDF cannot be read: %(error)s") % {"error": exc})
    if not letter.pdf_sealed_by:
        seal = pdf_seal.check_seal(content) if pdf_seal.is_sealed(content) else None
        return PdfCheck(letter.reference, stored_pdf_matches=True, seal_expected=False, seal=seal)
    seal = pdf_seal.check_seal(content, certificate=letter.pdf_sealed_by)
    return PdfCheck(letter.reference, stored_pdf_matches=True, seal_expected=True, seal=seal, problem=seal.problem)


def verify_letter_pdf(user, letter):
    """``check_letter_pdf`` for a user who may see the letter."""
    require(can_view_letter(user, letter), _("You may not see this letter."))
    if not letter.is_generated or not letter.pdf:
        raise LetterError([InputProblem("pdf", _("Only a generated letter has a PDF."), CONTENT)])
    return check_letter_pdf(letter)


@dataclass
class CopyCheck:
    """What ``check_pdf_copy`` found about a PDF someone holds."""

    reference: str  # the letter reference the PDF names (its subject), if it names one
    letter_found: bool  # a generated letter with that reference the user may see
    same_as_stored: bool  # byte for byte the stored PDF of that letter
    seal: pdf_seal.SealCheck

    @property
    def ok(self):
        # Our seal, intact: the copy is genuine, and a password-protected email copy (a
        # rewritten file, sealed again) is genuine without being the stored bytes.
        return self.seal.ok

    def as_dict(self):
        return {"ok": self.ok, "reference": self.reference, "letter_found": self.letter_found,
                "same_as_stored": self.same_as_stored, "seal": self.seal.as_dict()}


def check_pdf_copy_for(user, content, password=None):
    """``check_pdf_copy`` for a user: only letters they may see are named and compared."""
    require(may_list_letters(user), _("You may not see letters."))
    return check_pdf_copy(content, password, letters=visible_letters(user, Letter.objects.all()))


def check_pdf_copy(content, password=None, letters=None):
    """Is a PDF someone holds (a customer's copy, an attachment sent back) one of our letters,
    unchanged? Its seal is checked against the certificate recorded with the letter it names
    (else the configured one), and it is compared with that letter's stored PDF. ``letters``:
    those it may be found among (default: all). Nothing is stored or logged about the file."""
    from pypdf import PdfReader

    reference = ""
    try:
        reader = PdfReader(io.BytesIO(content), password=password)
        reference = str((reader.metadata or {}).get("/Subject") or "")[:60]  # letters carry it there
    except Exception:  # a file made to break the reader names no letter; check_seal says why
        pass
    letters = Letter.objects.all() if letters is None else letters
    letter = letters.filter(status=LetterStatus.GENERATED, reference=reference).first() if reference else None
    seal = pdf_seal.check_seal(content, password=password,
                               certificate=letter.pdf_sealed_by if letter is not None else None)
    return CopyCheck(reference=reference, letter_found=letter is not None, seal=seal,
                     same_as_stored=letter is not None and hashlib.sha256(content).hexdigest() == letter.pdf_sha256)


def read_pdf(user, letter, inline=False):
    """The PDF for a staff user, checked; the download (or, ``inline``, the view on the
    letter's page) is audited."""
    require(can_view_letter(user, letter), _("You may not see this letter."))
    content = verified_pdf(letter)
    action = log_actions.LETTER_PDF_VIEWED if inline else log_actions.LETTER_PDF_DOWNLOADED
    log(letter, action, user=user, data={"reference": letter.reference})
    return content


@transaction.atomic
def discard_draft(user, letter):
    require(can_edit_draft(user, letter), _("Only the agent who started this draft may discard it."))
    require(letter.is_draft, _("A numbered letter is never deleted: withdraw it instead."))
    log(letter, log_actions.LETTER_DISCARDED, user=user, data={"template": letter.template.title})
    letter.delete()
