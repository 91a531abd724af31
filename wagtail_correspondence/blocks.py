"""StreamField blocks of fragments and letter templates.

Merge fields (``{{ customer.first_name }}``) may appear in rich text, table cells, list
columns and conditions; they are checked against the data dictionary on save.
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.contrib.table_block.blocks import TableBlock
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock
from wagtail_localize.segments import StringSegmentValue

from .merge_fields import PICKER_ATTRS

# merge_field: the picker below the text that inserts {{ balance|money }} (wagtail_hooks.py).
RICH_TEXT_FEATURES = ["h2", "h3", "h4", "bold", "italic", "ol", "ul", "link", "hr", "superscript", "subscript",
                      "merge_field"]

slot_name_validator = RegexValidator(r"^[a-z][a-z0-9_]*$", _("Use lower-case letters, digits and underscores."))

MERGE_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def has_words(text):
    """Whether ``text`` says something outside its merge expressions: "{{ item.amount|money }}"
    has nothing to translate, "Invoice {{ item.number }}" has."""
    return any(character.isalpha() for character in MERGE_EXPRESSION.sub("", str(text or "")))


class Untranslated:
    """A value a letter computes with (a condition, the name of a data field), never words
    to translate: wagtail-localize's editor and PO files leave it out, and a language variant
    keeps it as in the source (wagtail-localize asks blocks through these two methods)."""

    def get_translatable_segments(self, value):
        return []

    def restore_translated_segments(self, value, segments):
        return value


class WordsOnlyBlock(blocks.CharBlock):
    """Text that may be only a merge expression: offered for translation when it has words."""

    def get_translatable_segments(self, value):
        return [StringSegmentValue("", value)] if has_words(value) else []

    def restore_translated_segments(self, value, segments):
        return segments[0].render_text() if segments else value


class DataNameBlock(Untranslated, blocks.CharBlock):
    """The name of a field in the data, or of a record inside a list."""


class MergeRichTextBlock(blocks.RichTextBlock):
    def __init__(self, **kwargs):
        kwargs.setdefault("features", RICH_TEXT_FEATURES)
        kwargs.setdefault("help_text", _("“Insert merge field” below the text lists the data dictionary's fields; "
                                         "or type them: {{ customer.first_name }}, {{ balance|money }}, "
                                         "{{ due_date|date }}."))
        super().__init__(**kwargs)

    class Meta:
        icon = "pilcrow"
        label = _("Rich text")


class ExpressionBlock(Untranslated, blocks.CharBlock):
    """A condition over the data, such as ``balance > 0 and not customer.vip``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("help_text", _("An expression over the data, e.g. balance > 100 or customer.language == 'fr'"))
        super().__init__(**kwargs)


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    alt_text = blocks.CharBlock(label=_("alternative text"), max_length=255,
                                help_text=_("Read out by screen readers; shown if the image cannot be displayed."))
    width_mm = blocks.IntegerBlock(label=_("width (mm)"), min_value=5, max_value=200, default=60)
    alignment = blocks.ChoiceBlock(choices=[("left", _("Left")), ("center", _("Centre")), ("right", _("Right"))],
                                   default="left")

    class Meta:
        icon = "image"
        label = _("Image")


class MergeTextBlock(WordsOnlyBlock):
    """Plain text with merge fields, with the merge-field picker's button after it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.field.widget.attrs.update(PICKER_ATTRS)


class ListColumnBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=100)
    value = MergeTextBlock(max_length=300, help_text=_("A merge expression over the item, e.g. {{ item.amount|money }}"))


class RepeatingListBlock(blocks.StructBlock):
    """Repeats over a list field of the data (open invoices, policies...)."""

    source = DataNameBlock(max_length=120, help_text=_("Name of a list field in the data dictionary, e.g. invoices"))
    item_name = DataNameBlock(max_length=40, default="item", validators=[slot_name_validator],
                              help_text=_("The name each record has inside the list, e.g. item"))
    style = blocks.ChoiceBlock(choices=[("table", _("Table")), ("bullets", _("Bulleted list")),
                                        ("numbered", _("Numbered list"))], default="table")
    columns = blocks.ListBlock(ListColumnBlock(), required=False, help_text=_("Table columns"))
    item_text = MergeRichTextBlock(required=False, features=["bold", "italic", "merge_field"],
                                   help_text=_("Text of each bullet, e.g. Invoice {{ item.number }}"))
    empty_text = blocks.CharBlock(required=False, max_length=300, help_text=_("Shown when the list is empty"))

    class Meta:
        icon = "list-ul"
        label = _("Repeating list")

    def clean(self, value):
        value = super().clean(value)
        if value["style"] == "table" and not value["columns"]:
            raise blocks.StructBlockValidationError(
                block_errors={"columns": ValidationError(_("A table needs at least one column."))})
        if value["style"] != "table" and not value["item_text"].source.strip():
            raise blocks.StructBlockValidationError(
                block_errors={"item_text": ValidationError(_("A list needs the text of each item."))})
        return value


class MergeTableBlock(TableBlock):
    # Handsontable 6 (bundled with Wagtail) ships only "en-US"; Wagtail passes Django's language
    # code ("en"), which Handsontable rejects with a console error on every table. Its menus stay
    # in English whatever the admin language until Wagtail bundles more.
    def get_table_options(self, table_options=None):
        return {**super().get_table_options(table_options), "language": "en-US"}

    # wagtail-localize leaves tables out: their cells with words, and the caption, are offered
    # for translation here (cells holding only a merge expression are not).
    def get_translatable_segments(self, value):
        segments = [StringSegmentValue(f"cell-{row}-{column}", text)
                    for row, cells in enumerate((value or {}).get("data") or [])
                    for column, text in enumerate(cells) if has_words(text)]
        if has_words((value or {}).get("table_caption")):
            segments.append(StringSegmentValue("caption", value["table_caption"]))
        return segments

    def restore_translated_segments(self, value, segments):
        value = {**value, "data": [list(cells) for cells in value.get("data") or []]}
        for segment in segments:
            if segment.path == "caption":
                value["table_caption"] = segment.render_text()
            else:
                _cell, row, column = segment.path.split("-")
                value["data"][int(row)][int(column)] = segment.render_text()
        return value

    class Meta:
        icon = "table"
        label = _("Table")


class SectionContentBlock(blocks.StreamBlock):
    rich_text = MergeRichTextBlock()
    repeating_list = RepeatingListBlock()
    image = ImageBlock()
    table = MergeTableBlock()


class ConditionalSectionBlock(blocks.StructBlock):
    condition = ExpressionBlock()
    content = SectionContentBlock(help_text=_("Included when the condition is true"))
    otherwise = SectionContentBlock(required=False, help_text=_("Included when the condition is false (optional)"))

    class Meta:
        icon = "decision"
        label = _("Conditional section")


class PageBreakBlock(blocks.StaticBlock):
    class Meta:
        icon = "horizontalrule"
        label = _("Page break")
        admin_text = _("Starts a new page in print and PDF; ignored in email and SMS.")


class FragmentBodyBlock(blocks.StreamBlock):
    rich_text = MergeRichTextBlock()
    conditional = ConditionalSectionBlock()
    repeating_list = RepeatingListBlock()
    image = ImageBlock()
    table = MergeTableBlock()
    page_break = PageBreakBlock()


# Letter template body ---------------------------------------------------------------


class LiveFragmentChooserBlock(SnippetChooserBlock):
    """A reference to a fragment. Only its live, approved revision is ever rendered."""

    def __init__(self, **kwargs):
        super().__init__("wagtail_correspondence.Fragment", **kwargs)


class AgentSlotBlock(blocks.StructBlock):
    name = blocks.CharBlock(max_length=50, validators=[slot_name_validator],
                            help_text=_("Key of the slot in the API and saved letters, e.g. personal_note"))
    label = blocks.CharBlock(max_length=150)
    help = blocks.CharBlock(required=False, max_length=300)
    required = blocks.BooleanBlock(required=False, default=False)
    max_length = blocks.IntegerBlock(min_value=1, max_value=10000, default=1000)
    default_text = blocks.TextBlock(required=False)

    class Meta:
        icon = "edit"
        label = _("Agent slot")

    def clean(self, value):
        value = super().clean(value)
        if value["default_text"] and len(value["default_text"]) > value["max_length"]:
            raise blocks.StructBlockValidationError(block_errors={"default_text": ValidationError(
                _("The default text is longer than the maximum length (%(max)s).") % {"max": value["max_length"]})})
        return value


class OptionalFragmentGroupBlock(blocks.StructBlock):
    name = blocks.CharBlock(max_length=50, validators=[slot_name_validator])
    label = blocks.CharBlock(max_length=150)
    help = blocks.CharBlock(required=False, max_length=300)
    fragments = blocks.ListBlock(LiveFragmentChooserBlock(), min_num=1)
    preselected = blocks.BooleanBlock(required=False, default=False,
                                      help_text=_("Ticked by default in the letter builder"))

    class Meta:
        icon = "tasks"
        label = _("Optional fragments")


class ConditionalIncludeBlock(blocks.StructBlock):
    condition = ExpressionBlock()
    fragment = LiveFragmentChooserBlock()

    class Meta:
        icon = "decision"
        label = _("Conditional fragment")


# What an agent may do with a tailorable fragment (rendering/tailoring.py reads these).
EDIT, REMOVE, EDIT_OR_REMOVE = "edit", "remove", "edit_or_remove"


class TailorableFragmentBlock(blocks.StructBlock):
    """A fragment the agent may reword (its approved text is where they start) or leave out.
    A plain "Fragment" block is locked: agents can change nothing in it."""

    name = blocks.CharBlock(max_length=50, validators=[slot_name_validator],
                            help_text=_("Key of this paragraph in the API and saved letters, e.g. apology"))
    label = blocks.CharBlock(max_length=150, help_text=_("What agents see above it, e.g. Apology paragraph"))
    fragment = LiveFragmentChooserBlock(help_text=_("Its approved wording is what the agent starts from. Only "
                                                    "fragments made of rich text can be edited."))
    agents_may = blocks.ChoiceBlock(choices=[(EDIT, _("Edit the wording")), (REMOVE, _("Leave it out")),
                                             (EDIT_OR_REMOVE, _("Edit the wording or leave it out"))],
                                    default=EDIT, label=_("Agents may"))
    allow_links = blocks.BooleanBlock(required=False, default=False, label=_("Links allowed in edits"),
                                      help_text=_("Edits may always use bold, italic and lists; links only if "
                                                  "ticked"))
    max_length = blocks.IntegerBlock(min_value=50, max_value=20000, default=4000,
                                     help_text=_("At most this many characters of text in an edit"))

    class Meta:
        icon = "edit"
        label = _("Fragment agents may tailor")


ANY_ORDER, LISTED_ORDER, CHOOSE_ONE = "any_order", "listed_order", "choose_one"


class FragmentZoneBlock(blocks.StructBlock):
    """A place where the agent puts approved fragments from a list: adds, removes and (if
    allowed) reorders them, or chooses exactly one; page breaks between them if allowed."""

    name = blocks.CharBlock(max_length=50, validators=[slot_name_validator],
                            help_text=_("Key of the zone in the API and saved letters, e.g. next_steps"))
    label = blocks.CharBlock(max_length=150)
    help = blocks.CharBlock(required=False, max_length=300)
    fragments = blocks.ListBlock(LiveFragmentChooserBlock(), min_num=1, label=_("Fragments agents may use"))
    arrangement = blocks.ChoiceBlock(choices=[
        (ANY_ORDER, _("Agents add any of them, in the order they choose")),
        (LISTED_ORDER, _("Agents add any of them; they keep the order listed here")),
        (CHOOSE_ONE, _("Agents choose exactly one"))], default=ANY_ORDER)
    start_with = blocks.ChoiceBlock(choices=[("none", _("Nothing (the first, when choosing one)")),
                                             ("all", _("Every fragment listed"))], default="none",
                                    help_text=_("What a new letter has in this zone before the agent changes it"))
    min_count = blocks.IntegerBlock(min_value=0, max_value=50, default=0, label=_("At least"))
    max_count = blocks.IntegerBlock(required=False, min_value=1, max_value=50, label=_("At most"),
                                    help_text=_("Empty: no limit"))
    page_breaks = blocks.BooleanBlock(required=False, default=False, label=_("Agents may insert page breaks"))

    class Meta:
        icon = "list-ol"
        label = _("Fragments agents arrange")

    def clean(self, value):
        value = super().clean(value)
        if value["max_count"] is not None and value["max_count"] < value["min_count"]:
            raise blocks.StructBlockValidationError(block_errors={"max_count": ValidationError(
                _("“At most” cannot be lower than “at least”."))})
        return value


class TemplateBodyBlock(blocks.StreamBlock):
    fragment = LiveFragmentChooserBlock(icon="doc-full", label=_("Locked fragment"))
    tailorable_fragment = TailorableFragmentBlock()
    fragment_zone = FragmentZoneBlock()
    agent_slot = AgentSlotBlock()
    optional_fragments = OptionalFragmentGroupBlock()
    conditional_include = ConditionalIncludeBlock()
    page_break = PageBreakBlock()


__all__ = ["FragmentBodyBlock", "TemplateBodyBlock"]
