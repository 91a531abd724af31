"""Where content is used. Wagtail's reference index already follows snippet choosers inside
StreamFields, so a fragment's templates come from there; letters record the revisions they
were built from (LetterFragmentPin), so a fragment's letters are one query."""

from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils.translation import ngettext
from wagtail.models import Page, ReferenceIndex


@dataclass
class FragmentUsage:
    templates: list = field(default_factory=list)
    draft_letters: int = 0
    generated_letters: int = 0

    @property
    def letters(self):
        return self.draft_letters + self.generated_letters

    @property
    def total(self):
        return len(self.templates) + self.letters

    def __str__(self):
        templates, drafts, letters = len(self.templates), self.draft_letters, self.generated_letters
        return " · ".join([
            ngettext("%(count)s template", "%(count)s templates", templates) % {"count": templates},
            ngettext("%(count)s draft", "%(count)s drafts", drafts) % {"count": drafts},
            ngettext("%(count)s letter", "%(count)s letters", letters) % {"count": letters},
        ])


def fragment_letters(fragment):
    """Letters that include (or, as drafts, would include) the fragment, newest first."""
    from ..models import Letter

    return Letter.objects.filter(fragment_pins__fragment=fragment, fragment_pins__included=True).distinct()


def fragment_usage(fragment):
    """The templates a fragment is used in, and its letters. Templates reference a fragment's
    source; a letter in another language uses its variant there, and a template's language
    variants share its references: so the templates come from the references to any of the
    fragment's language variants, one per template, in the fragment's language where the
    template has a variant in it."""
    from ..models import LetterStatus

    family = type(fragment).objects.filter(translation_key=fragment.translation_key)
    references = ReferenceIndex.get_references_to_in_bulk(family).group_by_source_object()
    by_template = {}
    for source, _references in references:
        if isinstance(source, Page):
            by_template.setdefault(source.translation_key, []).append(source.specific)
    templates = sorted((next((page for page in variants if page.locale_id == fragment.locale_id), variants[0])
                        for variants in by_template.values()), key=lambda page: page.title)
    counts = fragment_letters(fragment).aggregate(
        drafts=Count("pk", filter=Q(status=LetterStatus.DRAFT)),
        generated=Count("pk", filter=Q(status=LetterStatus.GENERATED)))
    return FragmentUsage(templates=templates, draft_letters=counts["drafts"], generated_letters=counts["generated"])
