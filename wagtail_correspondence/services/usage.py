"""Where content is used. Wagtail's reference index already follows snippet choosers inside
StreamFields, so a fragment's templates come from there; letters join in once they exist."""

from dataclasses import dataclass, field

from wagtail.models import Page, ReferenceIndex


@dataclass
class FragmentUsage:
    templates: list = field(default_factory=list)

    @property
    def total(self):
        return len(self.templates)


def fragment_usage(fragment):
    references = ReferenceIndex.get_references_to(fragment).group_by_source_object()
    templates = []
    for source, _references in references:
        if isinstance(source, Page):
            templates.append(source.specific)
    templates.sort(key=lambda page: page.title)
    return FragmentUsage(templates=templates)
