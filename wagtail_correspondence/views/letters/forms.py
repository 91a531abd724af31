"""The letter builder form: built from the template (slots, optional groups, channels) and
its data dictionary (one input per field), turned into a ``LetterRequest``."""

import json
import uuid

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.rich_text import DraftailRichTextArea

from ... import json_limits, schema
from ...customers import CustomerNotFound, get_customer_source
from ...blocks import ANY_ORDER, CHOOSE_ONE
from ...models import Inclusion
from ...rendering.redline import text_of
from ...rendering.tailoring import PAGE_BREAK, may_edit, may_remove
from ...services.letters import LetterRequest, content_language_choices, deep_merge, tailorable_fragments
from ...services.register_links import REPLY_KEY

FIELD_PREFIX = "field:"
SLOT_PREFIX = "slot:"
OPTIONAL_PREFIX = "optional:"
TAILOR_PREFIX, EDIT_PREFIX, BASED_ON_PREFIX, ZONE_PREFIX = "tailor:", "edit:", "based_on:", "zone:"
TAILORING_PREFIXES = (TAILOR_PREFIX, EDIT_PREFIX, BASED_ON_PREFIX, ZONE_PREFIX)
KEEP, EDIT, REMOVE = "keep", "edit", "remove"
REPLY_PREFIX = f"{REPLY_KEY}."

_INPUT_TYPES = {schema.DATE: "date", schema.EMAIL: "email", schema.PHONE: "tel", schema.NUMBER: "text",
                schema.MONEY: "text"}


def _set(data, path, value):
    parts = path.split(".")
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


class LetterBuilderForm(forms.Form):
    """Empty inputs keep the customer's value: the agent changes data by typing over it."""

    customer_id = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    language = forms.ChoiceField(
        label=_("Language"), required=False,
        help_text=_("The letter is written in the customer's language when its content is translated into it, "
                    "else in the template's. Choose another to write in it."))
    data_json = forms.CharField(
        label=_("Paste data (JSON)"), required=False, widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text=_("A JSON object shaped like the data dictionary; applied over the customer record"))
    idempotency_key = forms.CharField(required=False, widget=forms.HiddenInput, max_length=255)
    in_reply_to = forms.CharField(required=False, widget=forms.HiddenInput, max_length=60)

    def __init__(self, *args, template, values=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        self.dictionary = template.data_dictionary
        self.specs = self.dictionary.field_specs()
        self.field_index = schema.FieldIndex.from_specs(self.specs)
        values = values or {}
        self.fields["channel"].choices = [(code, label) for code, label in _channel_choices()
                                          if code in (template.channels or [])]
        self.fields["language"].choices = [("", _("The customer's language"))] + content_language_choices()
        self.initial.setdefault("idempotency_key", str(uuid.uuid4()))
        self.data_field_names = []
        answering = self["in_reply_to"].value()
        for spec in self.specs:
            if self.field_index.list_parent(spec.name) is not None:
                continue  # sub-fields of lists are edited with their list
            if answering and spec.name.startswith(REPLY_PREFIX):
                continue  # filled from the register entry the letter answers
            self._add_data_field(spec, schema.value_at(values, spec.name))
        self.slot_field_names = []
        for slot in template.slots():
            name = f"{SLOT_PREFIX}{slot['name']}"
            self.fields[name] = forms.CharField(
                label=slot["label"], required=False, help_text=slot["help"], strip=False,
                widget=forms.Textarea(attrs={"rows": 4, "maxlength": slot["max_length"], "data-slot": slot["name"]}))
            self.initial.setdefault(name, slot["default_text"])
            self.slot_field_names.append(name)
        self.optional_field_names = []
        for group in template.optional_groups():
            name = f"{OPTIONAL_PREFIX}{group['name']}"
            self.fields[name] = forms.BooleanField(label=group["label"], required=False, help_text=group["help"])
            self.initial.setdefault(name, group["preselected"])
            self.optional_field_names.append(name)
        self._add_enclosure_field(template)
        self._add_tailoring_fields(template, kwargs.get("initial") or {})

    def _add_tailoring_fields(self, template, initial):
        """Per tailorable paragraph: keep, edit (a rich-text editor with the letter's styles
        only, starting from the approved wording) or leave out, as the template allows; per
        zone: the fragments in their order (a list the agent rearranges), ticks when the order
        is fixed, or a choice of one. Locked fragments get no field at all."""
        self.tailor_names, self.zone_field_names = [], []
        for block in tailorable_fragments(template):
            name = block["name"]
            choices = [(KEEP, _("Keep the approved wording"))]
            if may_edit(block):
                choices.append((EDIT, _("Edit the wording")))
            if may_remove(block):
                choices.append((REMOVE, _("Leave it out")))
            self.fields[f"{TAILOR_PREFIX}{name}"] = forms.ChoiceField(
                label=block["label"], choices=choices, initial=KEEP, widget=forms.RadioSelect(
                    attrs={"data-tailor-choice": name}),
                error_messages={"invalid_choice": _("The template does not let agents do this with “%(label)s”.")
                                % {"label": block["label"]}})
            if may_edit(block) and block["approved_html"] is not None:
                features = ["bold", "italic", "ol", "ul"] + (["link"] if block["allow_links"] else [])
                self.fields[f"{EDIT_PREFIX}{name}"] = forms.CharField(
                    label=_("%(label)s: your wording") % {"label": block["label"]}, required=False,
                    # An id Draftail can select by: it looks its input up with a CSS selector (no ":").
                    widget=AgentTextEditor(features=features, attrs={"data-tailor-editor": name, "id": f"id_edit-{name}"}),
                    help_text=_("Bold, italic and lists; merge fields such as {{ customer.first_name }} stay merge "
                                "fields. At most %(max)s characters.") % {"max": block["max_length"]})
                self.initial.setdefault(f"{EDIT_PREFIX}{name}", block["approved_html"])
            self.fields[f"{BASED_ON_PREFIX}{name}"] = forms.IntegerField(required=False, widget=forms.HiddenInput)
            # The approved revision the agent sees now: the edit starts from it (a draft keeps its own).
            self.initial.setdefault(f"{BASED_ON_PREFIX}{name}", block["revision"])
            self.tailor_names.append((name, block))
        for zone in template.fragment_zones():
            self._add_zone_field(zone)

    def _add_zone_field(self, zone):
        name = f"{ZONE_PREFIX}{zone['name']}"
        offered = [(fragment.key, fragment.title) for fragment in zone["fragments"] if fragment is not None]
        if zone["arrangement"] == CHOOSE_ONE:
            field = forms.ChoiceField(label=zone["label"], help_text=zone["help"], choices=offered,
                                      widget=forms.RadioSelect, required=False)
            self.initial.setdefault(name, offered[0][0] if offered else "")
        elif zone["arrangement"] == ANY_ORDER:
            # The agent's order: a list they rearrange (letter-builder.js) over a plain text input
            # of keys separated by commas, which is what is posted.
            field = forms.CharField(label=zone["label"], help_text=zone["help"], required=False, widget=forms.TextInput(
                attrs={"data-zone": zone["name"], "data-zone-offered": json.dumps(
                    offered + ([(PAGE_BREAK, str(_("Page break")))] if zone["page_breaks"] else [])),
                    "data-zone-max": zone["max_count"] or ""}))
            self.initial.setdefault(name, ",".join(key for key, _title in offered) if zone["start_with"] == "all"
                                    else "")
        else:
            field = forms.MultipleChoiceField(label=zone["label"], help_text=zone["help"], choices=offered,
                                              widget=forms.CheckboxSelectMultiple, required=False)
            self.initial.setdefault(name, [key for key, _title in offered] if zone["start_with"] == "all" else [])
        self.fields[name] = field
        self.zone_field_names.append(name)

    def _add_enclosure_field(self, template):
        """The enclosures the agent may tick (the template's mandatory ones are listed, always
        sent); none when the template offers none. Where the template lets agents change the
        order, a list they arrange instead (letter-builder.js), the mandatory ones in it too."""
        rows = list(template.enclosures.select_related("enclosure"))
        self.mandatory_enclosures = [row.enclosure for row in rows if row.inclusion == Inclusion.MANDATORY]
        self.enclosure_order = [row.enclosure.key for row in rows]
        self.enclosures_arranged = bool(rows) and template.enclosures_reorderable
        offered = [row for row in rows if row.inclusion != Inclusion.MANDATORY]
        preselected = [row.enclosure.key for row in rows if row.inclusion != Inclusion.OPTIONAL]
        if self.enclosures_arranged:
            self.fields["enclosures"] = forms.CharField(
                label=_("Enclosures"), required=False, help_text=_(
                    "Appended to the letter's PDF after the letter, in this order."), widget=forms.TextInput(attrs={
                        "data-zone": "enclosures",
                        "data-zone-offered": json.dumps([(row.enclosure.key, row.enclosure.title) for row in rows]),
                        "data-zone-fixed": json.dumps([item.key for item in self.mandatory_enclosures]),
                        "data-zone-max": template.max_enclosures or ""}))
            chosen = self.initial.get("enclosures")  # a draft's keys, in its order
            self.initial["enclosures"] = ",".join(chosen if isinstance(chosen, list) else preselected)
            self.mandatory_enclosures = []  # in the list, where the agent sees them placed
            return
        if not offered:
            return
        self.fields["enclosures"] = forms.MultipleChoiceField(
            label=_("Enclosures"), required=False, widget=forms.CheckboxSelectMultiple,
            choices=[(row.enclosure.key, row.enclosure.title) for row in offered],
            help_text=_("Appended to the letter's PDF after the letter."))
        self.initial.setdefault("enclosures", [row.enclosure.key for row in offered
                                               if row.inclusion == Inclusion.PRESELECTED])

    def _add_data_field(self, spec, value):
        name = f"{FIELD_PREFIX}{spec.name}"
        attrs = {"data-path": spec.name}
        label = f"{spec.label or spec.name}{' *' if spec.required else ''}"
        if spec.type == schema.BOOLEAN:
            field = forms.ChoiceField(label=label, required=False, widget=forms.Select(attrs=attrs),
                                      choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))])
            initial = "" if value is None else ("true" if value else "false")
        elif spec.type == schema.ADDRESS:
            for part in schema.ADDRESS_PARTS:
                part_name = f"{name}.{part}"
                self.fields[part_name] = forms.CharField(
                    label=f"{spec.label or spec.name} · {part.replace('_', ' ')}", required=False,
                    widget=forms.TextInput(attrs={"data-path": f"{spec.name}.{part}"}))
                self.initial.setdefault(part_name, (value or {}).get(part, "") if isinstance(value, dict) else "")
                self.data_field_names.append(part_name)
            return
        elif spec.type == schema.LIST:
            field = forms.CharField(label=label, required=False, help_text=_("A JSON list of records"),
                                    widget=forms.Textarea(attrs={**attrs, "rows": 4, "spellcheck": "false"}))
            initial = json.dumps(value, ensure_ascii=False, indent=1) if value is not None else ""
        else:
            field = forms.CharField(label=label, required=False, help_text=spec.help,
                                    widget=forms.TextInput(attrs={**attrs, "type": _INPUT_TYPES.get(spec.type, "text")}))
            initial = "" if value is None else str(value)
        self.fields[name] = field
        self.initial.setdefault(name, initial)
        self.data_field_names.append(name)

    # Grouping for the template ---------------------------------------------------------

    def bound_fields(self, names):
        return [self[name] for name in names]

    @property
    def data_fields(self):
        return self.bound_fields(self.data_field_names)

    @property
    def slot_fields(self):
        return self.bound_fields(self.slot_field_names)

    @property
    def optional_fields(self):
        return self.bound_fields(self.optional_field_names)

    @property
    def tailoring_fields(self):
        """Per tailorable paragraph: its name, the choice, the editor (None when it may only be
        left out), the based-on input and the approved wording as text."""
        return [{"name": name, "choice": self[f"{TAILOR_PREFIX}{name}"],
                 "editor": self[f"{EDIT_PREFIX}{name}"] if f"{EDIT_PREFIX}{name}" in self.fields else None,
                 "based_on": self[f"{BASED_ON_PREFIX}{name}"],
                 "approved_text": text_of(block["approved_html"]) if block["approved_html"] else ""}
                for name, block in self.tailor_names]

    def stale_edits(self):
        """Names whose edit started from an approved revision that is no longer the live one."""
        return [(name, block["revision"]) for name, block in self.tailor_names
                if self.cleaned_data.get(f"{BASED_ON_PREFIX}{name}") not in (None, block["revision"])]

    @property
    def zone_fields(self):
        return self.bound_fields(self.zone_field_names)

    @property
    def enclosure_field(self):
        return self["enclosures"] if "enclosures" in self.fields else None

    def chosen_enclosures(self):
        """The mandatory enclosures and the ticked ones, in the template's order; None (the
        template's choice) when the template offers nothing to choose."""
        if "enclosures" not in self.fields:
            return None
        if self.enclosures_arranged:  # the agent's order, checked by the letter service
            return [key.strip() for key in (self.cleaned_data.get("enclosures") or "").split(",") if key.strip()]
        ticked = set(self.cleaned_data.get("enclosures") or [])
        mandatory = {enclosure.key for enclosure in self.mandatory_enclosures}
        return [key for key in self.enclosure_order if key in ticked or key in mandatory]

    # Cleaning --------------------------------------------------------------------------

    def clean_data_json(self):
        text = self.cleaned_data["data_json"].strip()
        if not text:
            return None
        # The pasted object is the letter's data, counted as in an API body: level 2.
        value = _parse_json(text, path="data", depth=1)
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The data must be a JSON object."))
        return value

    def clean(self):
        cleaned = super().clean()
        # A post naming a paragraph or zone this template does not open to agents (a locked
        # fragment, another template's name) is refused, not ignored.
        for key in self.data:
            if key.startswith(TAILORING_PREFIXES) and key not in self.fields:
                self.add_error(None, _("“%(name)s” is locked: this template does not let agents change it.") % {
                    "name": key.split(":", 1)[1]})
        for spec in self.specs:
            if spec.type != schema.LIST or self.field_index.list_parent(spec.name) is not None:
                continue
            name = f"{FIELD_PREFIX}{spec.name}"
            text = (cleaned.get(name) or "").strip()
            if not text:
                cleaned[name] = None
                continue
            try:
                cleaned[name] = _parse_json(text, path=spec.name, depth=spec.name.count(".") + 2)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        customer_id = cleaned.get("customer_id")
        if customer_id:
            try:
                self.customer_record = get_customer_source().get(customer_id)
            except CustomerNotFound:
                self.add_error("customer_id", _("No customer '%(id)s' in the customer data source.") % {
                    "id": customer_id})
        else:
            self.customer_record = {}
        return cleaned

    def _entered_value(self, spec):
        name = f"{FIELD_PREFIX}{spec.name}"
        if spec.type == schema.ADDRESS:
            parts = {part: self.cleaned_data.get(f"{name}.{part}", "").strip() for part in schema.ADDRESS_PARTS}
            parts = {part: text for part, text in parts.items() if text}
            return parts or None
        value = self.cleaned_data.get(name)
        if spec.type == schema.BOOLEAN:
            return {"true": True, "false": False}.get(value)
        if spec.type == schema.LIST:
            return value
        value = (value or "").strip()
        return value or None

    def data_overrides(self):
        """What the agent entered that differs from the customer record: pasted JSON first,
        then each input over it."""
        pasted = self.cleaned_data.get("data_json") or {}
        base = deep_merge(self.customer_record, pasted)
        overrides = json.loads(json.dumps(pasted))
        for spec in self.specs:
            if self.field_index.list_parent(spec.name) is not None:
                continue
            entered = self._entered_value(spec)
            if entered is None:
                continue
            current = schema.value_at(base, spec.name)
            if spec.type == schema.ADDRESS and isinstance(current, dict):
                entered = {**current, **entered}
            if entered != current:
                _set(overrides, spec.name, entered)
        return overrides

    def edits(self):
        """The paragraphs the agent chose to edit or leave out, as the letter service takes them."""
        edits = {}
        for name, _block in self.tailor_names:
            choice = self.cleaned_data.get(f"{TAILOR_PREFIX}{name}") or KEEP
            based_on = self.cleaned_data.get(f"{BASED_ON_PREFIX}{name}")
            if choice == EDIT:
                edits[name] = {"html": self.cleaned_data.get(f"{EDIT_PREFIX}{name}") or ""}
            elif choice == REMOVE:
                edits[name] = {"removed": True}
            else:
                continue
            if based_on is not None:
                edits[name]["based_on"] = based_on
        return edits or None

    def zones(self):
        zones = {}
        for name in self.zone_field_names:
            value = self.cleaned_data.get(name) or []
            if isinstance(self.fields[name], forms.ChoiceField) and not isinstance(
                    self.fields[name], forms.MultipleChoiceField):
                value = [value] if value else []  # the one chosen
            elif isinstance(value, str):
                value = [key.strip() for key in value.split(",") if key.strip()]  # the agent's order
            else:  # ticks have no order of their own: the template's
                listed = [key for key, _title in self.fields[name].choices]
                value = sorted(value, key=listed.index)
            zones[name[len(ZONE_PREFIX):]] = list(value)
        return zones or None

    def letter_request(self):
        customer_id = self.cleaned_data.get("customer_id") or ""
        overrides = self.data_overrides()
        optional = [name[len(OPTIONAL_PREFIX):] for name in self.optional_field_names if self.cleaned_data.get(name)]
        return LetterRequest(
            template=self.template, customer_id=customer_id,
            data=overrides if (overrides or not customer_id) else None,
            slots={name[len(SLOT_PREFIX):]: self.cleaned_data.get(name) or "" for name in self.slot_field_names},
            optional_fragments=optional, channel=self.cleaned_data.get("channel") or "",
            enclosures=self.chosen_enclosures(), edits=self.edits(), zones=self.zones(),
            language=self.cleaned_data.get("language") or "")


class AgentTextEditor(DraftailRichTextArea):
    """Draftail with the letter's styles. A post that is not the editor's own (contentstate)
    JSON, a tampered one, reads as no text: the letter service then refuses the empty edit."""

    def value_from_datadict(self, data, files, name):
        try:
            return super().value_from_datadict(data, files, name)
        except (ValueError, TypeError, KeyError, AttributeError):
            return ""


def tailoring_initial(template, edits, zones):
    """The builder's starting values for a saved letter's edits and zones."""
    initial = {}
    for name, edit in (edits if isinstance(edits, dict) else {}).items():
        if not isinstance(edit, dict):
            continue
        initial[f"{TAILOR_PREFIX}{name}"] = REMOVE if edit.get("removed") else EDIT
        if edit.get("html") is not None:
            initial[f"{EDIT_PREFIX}{name}"] = edit["html"]
        if edit.get("based_on") is not None:
            initial[f"{BASED_ON_PREFIX}{name}"] = edit["based_on"]
    arrangements = {zone["name"]: zone["arrangement"] for zone in template.fragment_zones()}
    for name, keys in (zones if isinstance(zones, dict) else {}).items():
        if name not in arrangements or not isinstance(keys, list):
            continue
        initial[f"{ZONE_PREFIX}{name}"] = {ANY_ORDER: ",".join(keys), CHOOSE_ONE: keys[0] if keys else ""}.get(
            arrangements[name], keys)
    return initial


def _parse_json(text, path, depth=0):
    """JSON typed or pasted into the builder, within the depth limit (json_limits.py)."""
    try:
        return json_limits.loads(text, path=path, depth=depth)
    except json_limits.JSONTooDeep as exc:
        raise forms.ValidationError(exc.message, code="too_deep") from None
    except ValueError as exc:  # bad syntax, or a number too long to convert
        raise forms.ValidationError(_("Not valid JSON: %(error)s") % {"error": exc}, code="invalid") from None


def _channel_choices():
    from ...conf import get_setting

    return get_setting("CHANNELS")
