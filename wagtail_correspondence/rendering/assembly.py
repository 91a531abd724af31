"""Letter assembly: content (template, fragments, layout, dictionary) + data + agent input
→ every output of one letter (print HTML, email HTML and text, SMS text), and the list of
everything that stops it from being generated.

The same function serves the live preview, generation, and the re-rendering of a generated
letter from its pinned revisions; only the ``ContentSources`` differ. No database writes here.
"""

import datetime
import functools
from dataclasses import dataclass, field

from django.utils import timezone, translation
from django.utils.html import linebreaks
from django.utils.translation import gettext as _
from markupsafe import Markup, escape
from wagtail.rich_text import expand_db_html

from .. import data_rules, schema
from ..conf import get_setting, language_name
from ..models.translation_state import NOT_RECORDED, is_out_of_date, translated_from_revisions, wordings_of
from . import formatting, tailoring
from .budget import letter_budget
from .document import framed_letter_document
from .frames import render_email
from .images import inline_image_src
from .plain_text import html_to_text
from .richtext import clean_static_html
from .sms import SmsText, measure_sms, normalise_sms
from .sandbox import MergeError, collect_missing, render_source, text_to_template, with_paths
from .templates import REMOVED, LetterBodyRenderer, recipient_lines, slot_text

DATA, SLOT, MISSING, CONTENT, CHANNEL, RULE = "data", "slot", "missing", "content", "channel", "rule"
TAILORING = "tailoring"


@dataclass(frozen=True)
class InputProblem:
    """Why a letter cannot be generated yet. ``field`` names what to fix: a data path
    (``customer.email``, ``invoices[1].amount``), ``slots.<name>``, ``optional_fragments``,
    ``channel``, ``edits.<name>`` and ``zones.<name>`` (what the agent tailored), or
    ``template`` for content that cannot be rendered."""

    field: str
    message: str
    kind: str

    def as_dict(self):
        return {"field": self.field, "message": self.message, "kind": self.kind}


@functools.lru_cache(maxsize=1024)
def _rebuilt(revision_id, created_at):
    from wagtail.models import Revision

    return Revision.objects.get(pk=revision_id).as_object()


def revision_objects(revision_ids):
    """The objects the revisions hold, by revision id. A revision never changes once written,
    so rebuilt objects are kept (keyed by id and creation time, which also tells apart two
    databases that reuse an id). Only live state is read afresh, never from these objects."""
    from wagtail.models import Revision

    stamps = dict(Revision.objects.filter(pk__in=[pk for pk in revision_ids if pk]).values_list("pk", "created_at"))
    return {pk: _rebuilt(pk, stamp) for pk, stamp in stamps.items()}


def revision_object(revision_id):
    return revision_objects([revision_id])[revision_id]


@dataclass(frozen=True)
class DictionarySteps:
    """What checking and typing a letter's data needs from its dictionary."""

    specs: list
    field_index: object


def dictionary_steps(dictionary):
    """The dictionary's field specs and index, built once per dictionary object: a revision's
    object is kept (``revision_objects``), so once per revision. (Its rules are not kept:
    their messages are in the language of the moment.)"""
    steps = getattr(dictionary, "_correspondence_steps", None)
    if steps is None:
        specs = dictionary.field_specs()
        steps = DictionarySteps(specs, schema.FieldIndex.from_specs(specs))
        try:
            dictionary._correspondence_steps = steps
        except AttributeError:
            pass
    return steps


class ContentUnavailable(Exception):
    """The template (or what it needs) cannot be used for letters at all."""


@dataclass
class ContentSources:
    """Exactly which content a letter is built from, as objects rebuilt from revisions."""

    template: object
    layout: object
    dictionary: object
    fragments: dict = field(default_factory=dict)  # fragment pk → fragment as of its revision
    template_revision_id: int | None = None
    layout_revision_id: int | None = None
    dictionary_revision_id: int | None = None
    fragment_revision_ids: dict = field(default_factory=dict)  # fragment pk → revision pk
    problems: list = field(default_factory=list)
    # The letter's language, and which fragment each one the template references stands for
    # in it (its variant in that language, or itself); the pieces used in the template's
    # language instead, when LANGUAGE_FALLBACK allows it (``Fallback.as_dict``).
    language: str = ""
    fragment_ids: dict = field(default_factory=dict)  # referenced fragment pk → pk of the one used
    fallbacks: list = field(default_factory=list)
    untranslated: set = field(default_factory=set)  # referenced fragment pks refused for their language

    def fragment_body(self, fragment, where):
        resolved = self.fragments.get(fragment.pk) if fragment is not None else None
        if resolved is None and fragment is not None and fragment.pk in self.untranslated:
            return []  # already a problem of its own: it has no approved translation
        if resolved is None:
            raise MergeError(f"the fragment '{fragment}' is not approved and live", where)
        return resolved.body


@dataclass(frozen=True)
class Fallback:
    """A piece a letter uses in another language than its own (LANGUAGE_FALLBACK)."""

    piece: str  # "template", "layout" or "fragment"
    name: str  # the template's title, the layout's name, the fragment's key
    language: str  # the letter's language, which the piece has no approved translation in
    used: str  # the language of the piece used instead

    def as_dict(self):
        return {"piece": self.piece, "name": self.name, "language": self.language, "used": self.used}


class _Languages:
    """Picks each piece's variant in the letter's language (``Fragment`` and ``Layout`` are
    translatable: their variants share a ``translation_key``, one per locale). A piece with
    no approved variant is refused by name, or used as it is when LANGUAGE_FALLBACK allows;
    either is written down here."""

    def __init__(self, language, strict):
        self.language = language
        # Only a letter in a language other than its template's insists on translations: the
        # template's own language uses what the template references, as it always did.
        self.strict = strict
        self.fallback = bool(get_setting("LANGUAGE_FALLBACK"))
        self.problems, self.fallbacks = [], []
        self.stale_template = None

    def variants(self, model, rows, columns):
        """{pk of a row: the row of its variant in the letter's language, if there is one}."""
        keys = {row.translation_key for row in rows if row.locale.language_code != self.language}
        if not keys:
            return {}
        found = {row.translation_key: row for row in model.objects.only(*columns).select_related(
            "locale", "live_revision").filter(
            translation_key__in=keys, locale__language_code=self.language)}
        noted_variants(model, found.values())
        return {row.pk: found[row.translation_key] for row in rows if row.translation_key in found}

    def stale(self, name):
        """A template's translation is out of date: noted, so that a refusal says so; None."""
        self.stale_template = name
        return None

    def choose(self, piece, name, row, variant, where="", row_language=None):
        """The row to use for ``row`` (its variant, or itself), or None when refused.
        ``row_language``: the row's language when it is not its locale's (a template says
        its language in a field of its own)."""
        row_language = row_language or row.locale.language_code
        if row_language == self.language:
            return row
        if variant is not None and variant.is_usable and not translation_behind(row, variant):
            return variant
        if not self.strict:
            return row
        if self.fallback:
            self.fallbacks.append(Fallback(piece, name, self.language, row_language))
            return row
        values = {"where": f"{where}: " if where else "", "piece": PIECE_NAMES[piece](), "name": name,
                  "language": language_name(self.language)}
        if variant is not None and variant.is_usable or piece == "template" and self.stale_template:
            # approved, but its source changed since
            message = _("%(where)sthe %(language)s translation of the %(piece)s '%(name)s' is out of date: its "
                        "source was approved again since.") % values
        else:
            message = _("%(where)sthe %(piece)s '%(name)s' has no approved translation in %(language)s.") % values
        self.problems.append(InputProblem("language", message, CONTENT))
        return None


def noted_variants(model, variants):
    """``variants`` (rows of ``model``), each with the source revision its live wording
    translates (``translated_from``): one query for all."""
    variants = list(variants)
    translated_from = translated_from_revisions(model, {row.pk: row.live_revision_id for row in variants})
    for row in variants:
        row.translated_from = translated_from.get(row.pk, NOT_RECORDED)
    return variants


def translation_behind(source, variant):
    """Whether ``variant`` (noted by ``noted_variants``) says what ``source`` used to say."""
    translated_from = variant.translated_from
    wordings = (wordings_of([translated_from, source.live_revision_id])
                if translated_from not in (NOT_RECORDED, source.live_revision_id) else None)
    return is_out_of_date(source.live_revision_id, source.last_published_at, variant.live_revision.created_at,
                          translated_from, wordings)


PIECE_NAMES = {"template": lambda: _("template"), "layout": lambda: _("layout"), "fragment": lambda: _("fragment")}
ROW_COLUMNS = ("pk", "live", "live_revision_id", "live_revision__created_at", "expired", "last_published_at",
               "translation_key", "locale__language_code")


def live_sources(page, use_live_revision=True, language=None):
    """Sources for a letter built now: the template's live revision (or ``page`` itself, for
    the preview of a template being edited), and the live revision of everything it uses, in
    ``language`` (default: the template's own)."""
    from wagtail.models import Locale

    from ..models import DataDictionary, Fragment, Layout

    problems = []
    language = language or page.language
    languages = _Languages(language, strict=language != page.language)
    if use_live_revision:
        if not page.live or not page.live_revision_id:
            raise ContentUnavailable(_("The template '%(title)s' is not published.") % {"title": page.title})
        translated = None
        if languages.strict:
            locale = Locale.objects.filter(language_code=language).first()
            translated = page.get_translation_or_none(locale) if locale is not None else None
            translated = translated.specific if translated is not None and translated.live else None
            if translated is not None and translation_behind(page, noted_variants(type(page), [translated])[0]):
                translated = languages.stale(page.title)
            if translated is None and languages.choose("template", page.title, page, None,
                                                       row_language=page.language) is None:
                raise ContentUnavailable(languages.problems[0].message)
        chosen = translated or page
        template_revision_id = chosen.live_revision_id
        template = revision_object(template_revision_id)
    else:
        template_revision_id, template = None, page

    # Live state (which revision is live, is it expired) always comes from the database.
    # Only the columns that say whether a row is usable and name it in a problem: the content
    # itself comes from the revisions.
    layout_row = Layout.objects.only(*ROW_COLUMNS, "name").select_related("locale", "live_revision").filter(
        pk=template.layout_id).first()
    if layout_row is not None:
        variant = languages.variants(Layout, [layout_row], (*ROW_COLUMNS, "name")).get(layout_row.pk)
        layout_row = languages.choose("layout", layout_row.name, layout_row, variant)
    dictionary_row = DataDictionary.objects.get(pk=template.data_dictionary_id)
    references = {}
    for fragment, where, _position in template.referenced_fragments():
        references.setdefault(fragment.pk, where)
    fragment_columns = (*ROW_COLUMNS, "title", "key", "expire_at")
    referenced_rows = Fragment.objects.only(*fragment_columns).select_related("locale", "live_revision").in_bulk(
        list(references))
    variants = languages.variants(Fragment, list(referenced_rows.values()), fragment_columns)
    fragment_rows, fragment_ids = {}, {}
    for pk, row in referenced_rows.items():
        chosen_row = languages.choose("fragment", row.key, row, variants.get(pk), references[pk])
        if chosen_row is not None:
            fragment_rows[pk], fragment_ids[pk] = chosen_row, chosen_row.pk

    usable = {pk: row for pk, row in fragment_rows.items() if row.is_usable}
    layout_usable = layout_row is not None and layout_row.is_usable
    dictionary_revision_id = dictionary_row.latest_revision_id
    objects = revision_objects([row.live_revision_id for row in usable.values()]
                               + [layout_row.live_revision_id if layout_usable else None, dictionary_revision_id])

    layout, layout_revision_id = None, None
    if layout_usable:
        layout_revision_id = layout_row.live_revision_id
        layout = objects[layout_revision_id]
    elif layout_row is not None or not languages.problems:
        problems.append(InputProblem("template", _("The layout '%(layout)s' is not approved and live.") % {
            "layout": layout_row}, CONTENT))
    dictionary = objects[dictionary_revision_id] if dictionary_revision_id else dictionary_row

    fragments, fragment_revision_ids = {}, {}
    for pk, where in references.items():
        row = usable.get(pk)
        if row is not None:
            fragments[pk] = objects[row.live_revision_id]
            fragment_revision_ids[pk] = row.live_revision_id
        elif pk in fragment_rows or pk not in referenced_rows:
            problems.append(InputProblem("template", _("%(where)s: the fragment '%(fragment)s' is not approved "
                                                       "and live.") % {"where": where,
                                                                       "fragment": fragment_rows.get(pk, pk)},
                                         CONTENT))
    return ContentSources(
        template=template, layout=layout, dictionary=dictionary, fragments=fragments,
        template_revision_id=template_revision_id, layout_revision_id=layout_revision_id,
        dictionary_revision_id=dictionary_revision_id,
        fragment_revision_ids=fragment_revision_ids, problems=languages.problems + problems,
        language=language, fragment_ids=fragment_ids, fallbacks=[item.as_dict() for item in languages.fallbacks],
        untranslated=set(referenced_rows) - set(fragment_rows))


@dataclass
class LetterInput:
    data: dict
    slots: dict = field(default_factory=dict)
    optional_fragments: list | None = None  # names of ticked groups; None = as the template proposes
    channel: str = ""
    reference: str = ""
    letter_date: datetime.date | None = None
    created: datetime.datetime | None = None
    edits: dict | None = None  # tailorable fragment name → {"html"|"removed", "based_on"} (tailoring.py)
    zones: dict | None = None  # zone name → fragment keys and "page_break"; a zone not named: its start


@dataclass
class AssembledLetter:
    sources: ContentSources
    input: LetterInput
    locale: str
    subject: str = ""
    body_html: Markup = Markup("")
    html: str = ""
    email_subject: str = ""
    email_html: str = ""
    email_text: str = ""
    sms: SmsText | None = None
    recipient_lines: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    included_fragment_ids: list = field(default_factory=list)
    # The data as the dictionary types it (Decimal, date), for rules read after assembly.
    typed_data: dict = field(default_factory=dict)
    letter_date: datetime.date | None = None
    enclosures: list = field(default_factory=list)  # chosen by services.enclosures, for previews
    # What the agent tailored: templates.Tailored for each fragment changed or left out, and what
    # a letter stores of it (the edits kept, with the revision each started from; every zone).
    tailored: list = field(default_factory=list)
    edits: dict = field(default_factory=dict)
    zones: dict = field(default_factory=dict)

    @property
    def changed_wording(self):
        """The agent edited or left out approved wording."""
        return bool(self.tailored)

    @property
    def can_generate(self):
        return not self.problems

    @property
    def template(self):
        return self.sources.template


# Checks of the agent's input ----------------------------------------------------------


def check_slots(template, slots):
    if not isinstance(slots, dict):
        return [InputProblem("slots", _("Slots must be an object of slot name → text."), SLOT)]
    problems = []
    known = {slot["name"]: slot for slot in template.slots()}
    for name in slots:
        if name not in known:
            problems.append(InputProblem(f"slots.{name}", _("This template has no slot '%(name)s'.") % {
                "name": name}, SLOT))
    for name, slot in known.items():
        value = slots.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(InputProblem(f"slots.{name}", _("%(label)s must be text.") % {"label": slot["label"]},
                                         SLOT))
            continue
        text = slot_text(slot, slots)
        if slot["required"] and not text.strip():
            problems.append(InputProblem(f"slots.{name}", _("%(label)s is required.") % {"label": slot["label"]},
                                         SLOT))
        elif len(text) > slot["max_length"]:
            problems.append(InputProblem(f"slots.{name}", _(
                "%(label)s has %(length)s characters; at most %(max)s are allowed.") % {
                "label": slot["label"], "length": len(text), "max": slot["max_length"]}, SLOT))
    return problems


def check_optional_fragments(template, choices):
    if choices is None:
        return []
    if not isinstance(choices, list) or not all(isinstance(name, str) for name in choices):
        return [InputProblem("optional_fragments", _("Optional fragments must be a list of group names."), SLOT)]
    known = {group["name"] for group in template.optional_groups()}
    unknown = [name for name in choices if name not in known]
    if unknown:
        return [InputProblem("optional_fragments", _("This template has no optional group(s): %(names)s.") % {
            "names": ", ".join(unknown)}, SLOT)]
    return []


def check_channel(template, channel, sms_text):
    if not channel:
        return []
    if channel not in (template.channels or []):
        return [InputProblem("channel", _("The template is not available on the channel '%(channel)s' (it offers: "
                                          "%(channels)s).") % {"channel": channel,
                                                               "channels": ", ".join(template.channels or [])},
                             CHANNEL)]
    if channel == "sms":
        if sms_text is None or not sms_text.text:
            return [InputProblem("channel", _("The template has no SMS text."), CHANNEL)]
        limit = get_setting("SMS_MAX_SEGMENTS")
        if sms_text.segments > limit:
            return [InputProblem("channel", _("The SMS text needs %(segments)s segments; at most %(limit)s are "
                                              "allowed.") % {"segments": sms_text.segments, "limit": limit},
                                 CHANNEL)]
    return []


def _data_label(dictionary_index, path):
    plain = ".".join(part.split("[")[0] for part in path.split("."))
    spec = dictionary_index.get(plain)
    return spec.label if spec is not None and spec.label else path


def _covered(path, reported):
    """True if a data problem already names ``path`` or one of its parents."""
    return any(path == other or path.startswith(other + ".") or path.startswith(other + "[") for other in reported)


def check_rules(sources, typed, letter_date, reported):
    """The data rules of the dictionary and of the template (``data_rules``) on the typed
    data: a broken rule names its field; a rule that cannot be applied is a content problem.
    A field whose value the dictionary already refused is not judged again."""
    rules = sources.dictionary.rule_specs() + list(getattr(sources.template, "rule_specs", list)())
    if not rules:
        return []
    problems = []
    for problem in data_rules.evaluate(rules, typed, letter_date, dictionary_steps(sources.dictionary).field_index):
        if problem.misconfigured:
            problems.append(InputProblem("template", problem.message, CONTENT))
        elif not _covered(problem.field, reported):
            problems.append(InputProblem(problem.field, problem.message, RULE))
    return problems


def _key_of(sources):
    def key_of(fragment):
        resolved = sources.fragments.get(fragment.pk) if fragment is not None else None
        return resolved.key if resolved is not None else None
    return key_of


def _out_of_bounds(blocks, name, edit):
    """Why the template does not let agents make this edit at all, or None."""
    block = blocks.get(name)
    if block is None:
        return _("This template has no paragraph agents may tailor named “%(name)s”; its other fragments are "
                 "locked.") % {"name": name}
    if edit.removed and not tailoring.may_remove(block):
        return _("The template does not let agents leave out “%(label)s”.") % {"label": block["label"]}
    if not edit.removed and not tailoring.may_edit(block):
        return _("The template does not let agents change the wording of “%(label)s”.") % {"label": block["label"]}
    return None


def tailoring_bounds(template, raw_edits, raw_zones):
    """What a request asks that no content or data could make right: edits and zones of the
    wrong shape, a paragraph or zone the template does not have (a locked fragment), a change
    the block does not allow. A draft is held to this (services.letters.save_draft); a letter
    to ``check_edits`` and ``check_zones`` as well, which include it."""
    blocks = {block["name"]: block for block in template.tailorable_fragments()}
    edits, shape_problems = tailoring.parse_edits(raw_edits)
    problems = [InputProblem(problem.field, problem.message, TAILORING) for problem in shape_problems]
    for name, edit in edits.items():
        message = _out_of_bounds(blocks, name, edit)
        if message:
            problems.append(InputProblem(f"{tailoring.EDITS}.{name}", message, TAILORING))
    if raw_zones is not None and not isinstance(raw_zones, dict):
        return problems + [InputProblem(tailoring.ZONES, _("Zones must be an object of zone name → list of fragment "
                                                           "keys."), TAILORING)]
    zones = {zone["name"] for zone in template.fragment_zones()}
    for name, entries in (raw_zones or {}).items():
        if name not in zones:
            problems.append(InputProblem(f"{tailoring.ZONES}.{name}", _("This template has no zone “%(name)s”.") % {
                "name": name}, TAILORING))
        elif not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
            problems.append(InputProblem(f"{tailoring.ZONES}.{name}", _("A zone is a list of fragment keys (and "
                                                                        "“page_break”)."), TAILORING))
    return problems


def check_edits(sources, raw):
    """(edits for the renderer, edits to store, problems) of the agent's ``edits``."""
    template = sources.template
    blocks = {block["name"]: block for block in template.tailorable_fragments()}
    edits, shape_problems = tailoring.parse_edits(raw)
    problems = [InputProblem(problem.field, problem.message, TAILORING) for problem in shape_problems]
    field_index = dictionary_steps(sources.dictionary).field_index
    prepared, stored = {}, {}
    for name, edit in edits.items():
        field_name = f"{tailoring.EDITS}.{name}"
        message = _out_of_bounds(blocks, name, edit)
        if message:
            problems.append(InputProblem(field_name, message, TAILORING))
            continue
        block = blocks[name]
        label, fragment = block["label"], block["fragment"]
        revision = sources.fragment_revision_ids.get(fragment.pk) if fragment is not None else None
        if revision is None:
            continue  # the sources already say that the fragment is not approved and live
        if edit.based_on is not None and edit.based_on != revision:
            problems.append(InputProblem(field_name, _(
                "The approved wording of “%(label)s” changed since this edit was made: read the new wording, then "
                "submit your edit again (based on revision %(revision)s).") % {"label": label, "revision": revision},
                TAILORING))
            continue
        if edit.removed:
            prepared[name] = REMOVED
            stored[name] = {"removed": True, "based_on": revision}
            continue
        approved_html = tailoring.editable_html(sources.fragments[fragment.pk].body)
        if approved_html is None:
            problems.append(InputProblem(field_name, _("“%(label)s” cannot be edited: its approved fragment holds "
                                                       "more than text.") % {"label": label}, TAILORING))
            continue
        result, messages = tailoring.prepare_edit(edit, block, approved_html, field_index)
        problems += [InputProblem(field_name, f"{label}: {message}", TAILORING) for message in messages]
        if result is not None and result.changed:
            prepared[name] = result
            stored[name] = {"html": result.html, "based_on": revision}
    return prepared, stored, problems


def check_zones(sources, raw):
    """(zones for the renderer, zones to store, problems): every zone of the template, as
    the agent arranged it or as the template starts it."""
    if raw is not None and not isinstance(raw, dict):
        return {}, {}, [InputProblem(tailoring.ZONES, _("Zones must be an object of zone name → list of fragment "
                                                        "keys."), TAILORING)]
    raw = raw or {}
    zones = {zone["name"]: zone for zone in sources.template.fragment_zones()}
    problems = [InputProblem(f"{tailoring.ZONES}.{name}", _("This template has no zone “%(name)s”.") % {"name": name},
                             TAILORING) for name in raw if name not in zones]
    key_of = _key_of(sources)
    resolved, stored = {}, {}
    for name, zone in zones.items():
        entries = raw[name] if name in raw else tailoring.zone_default(zone, key_of)
        messages = tailoring.check_zone(zone, entries, key_of)
        if messages:
            problems += [InputProblem(f"{tailoring.ZONES}.{name}", f"{zone['label']}: {message}", TAILORING)
                         for message in messages]
            continue
        by_key = {key_of(fragment): fragment for fragment in zone["fragments"] if fragment is not None}
        resolved[name] = [tailoring.PAGE_BREAK if entry == tailoring.PAGE_BREAK else by_key[entry]
                          for entry in entries]
        stored[name] = list(entries)
    return resolved, stored, problems


# Assembly -----------------------------------------------------------------------------


class _TextRenderer:
    """Renders authored texts (subject, email intro, SMS), recording what fails."""

    def __init__(self, data, problems):
        self.data = data
        self.problems = problems

    def __call__(self, source, label, html=False):
        if not source:
            return ""
        try:
            if html:
                return Markup(render_source(text_to_template(source), self.data))
            return render_source(source, self.data, autoescape=False)
        except MergeError as exc:
            if not exc.missing_data:
                self.problems.append(InputProblem("template", f"{label}: {exc.message}", CONTENT))
            return ""


def assemble(sources, letter_input):
    template = sources.template
    language = sources.language or template.language  # sources pinned before letters had languages
    problems = list(sources.problems)
    problems += check_slots(template, letter_input.slots)
    problems += check_optional_fragments(template, letter_input.optional_fragments)
    edits, stored_edits, edit_problems = check_edits(sources, letter_input.edits)
    zones, stored_zones, zone_problems = check_zones(sources, letter_input.zones)
    problems += edit_problems + zone_problems

    raw = letter_input.data
    if isinstance(raw, dict):
        steps = dictionary_steps(sources.dictionary)
        data_errors = schema.validate_payload(steps.specs, raw)
        typed = schema.coerce_payload(steps.specs, raw)
    else:
        data_errors, typed = [], {}
        problems.append(InputProblem("data", _("The data must be a JSON object."), DATA))
    problems += [InputProblem(error.path, error.message, DATA) for error in data_errors]
    letter_date = letter_input.letter_date or timezone.localdate()
    problems += check_rules(sources, typed, letter_date, [error.path for error in data_errors])
    data = with_paths(typed)

    locale = formatting.locale_for_language(language)
    letter = AssembledLetter(sources=sources, input=letter_input, locale=locale, typed_data=typed,
                             letter_date=letter_date, edits=stored_edits, zones=stored_zones)
    render_problems, text_problems = [], []
    slots = letter_input.slots if isinstance(letter_input.slots, dict) else {}
    optional = letter_input.optional_fragments if isinstance(letter_input.optional_fragments, list) else None

    # One work budget for everything the letter renders: its blocks cannot add up to minutes.
    with formatting.use_locale(locale), translation.override(language), collect_missing() as missing, \
            letter_budget():
        renderer = LetterBodyRenderer(data, slot_values=slots, optional_choices=optional, image_src=inline_image_src,
                                      fragment_body=sources.fragment_body, problems=render_problems,
                                      use_plans=True, edits=edits, zones=zones)
        letter.body_html = renderer.render(template)
        letter.included_fragment_ids = renderer.included_fragments
        letter.tailored = renderer.tailored
        text = _TextRenderer(data, text_problems)
        subject_html = text(template.subject, _("Subject"), html=True)
        letter.subject = text(template.subject, _("Subject"))
        letter.email_subject = text(template.email_subject or template.subject, _("Email subject"))
        intro = text(template.email_intro, _("Email introduction"))
        sms_source = text(template.sms_text, _("SMS text"))
        letter.sms = measure_sms(normalise_sms(sms_source)) if template.sms_text else None
        letter.recipient_lines = recipient_lines(template, data)
        date_text = formatting.date(letter_date, "long")
        reference_label = _("Reference")

        letter.html = str(framed_letter_document(
            layout=sources.layout, body_html=letter.body_html, recipient_lines=letter.recipient_lines,
            title=letter.subject or template.title, subject=subject_html,
            meta_lines=[(reference_label, letter_input.reference or _("assigned when the letter is generated")),
                        (_("Date"), date_text)],
            language=language, image_src=inline_image_src, author=get_setting("ORGANISATION_NAME"),
            reference=letter_input.reference, created=letter_input.created))
        layout = sources.layout
        footer = Markup(clean_static_html(expand_db_html(layout.footer))) if layout is not None and layout.footer else ""
        email_context = {
            "language": language, "subject": letter.email_subject, "body_html": letter.body_html,
            "intro_html": Markup(linebreaks(str(escape(intro)), autoescape=False)) if intro else "",
            "reference": letter_input.reference, "reference_label": reference_label, "footer_html": footer,
        }
        letter.email_html = render_email(layout, email_context)
        letter.email_text = html_to_text(letter.email_html)

    problems += check_channel(template, letter_input.channel, letter.sms)
    reported = [problem.field for problem in problems if problem.kind == DATA]
    field_index = dictionary_steps(sources.dictionary).field_index
    for path in missing:
        if not _covered(path, reported):
            problems.append(InputProblem(path, _("%(label)s is missing: the letter uses it.") % {
                "label": _data_label(field_index, path)}, MISSING))
    problems += [InputProblem("template", str(problem), CONTENT) for problem in render_problems
                 if not (problem.missing_data and len(missing))]
    problems += text_problems
    letter.problems = problems
    return letter


def render_template_preview(page, data):
    """The template as a letter with sample data: the draft being edited, live fragments."""
    sources = live_sources(page, use_live_revision=False)
    letter = assemble(sources, LetterInput(data=data))
    hard = [problem for problem in letter.problems if problem.kind == "content"]
    if hard and not letter.body_html:
        raise MergeError(hard[0].message, hard[0].field)
    return Markup(letter.html)


__all__ = ["assemble", "render_template_preview", "live_sources", "ContentSources", "LetterInput", "AssembledLetter",
           "InputProblem", "ContentUnavailable"]
