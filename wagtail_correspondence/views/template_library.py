"""The letter template library in Wagtail's admin: its count on the dashboard."""

from wagtail.admin.auth import user_has_any_page_permission
from wagtail.admin.site_summary import SummaryItem

from ..models import LetterTemplatePage


class LetterTemplatesSummaryItem(SummaryItem):
    """In place of Wagtail's "N Pages": how many letter templates the library holds."""

    order = 100
    template_name = "wagtail_correspondence/admin/summary_letter_templates.html"

    def __init__(self, request, library):
        super().__init__(request)
        self.library = library

    def get_context_data(self, parent_context):
        return {"library": self.library,
                "count": LetterTemplatePage.objects.descendant_of(self.library).count()}

    def is_shown(self):
        return user_has_any_page_permission(self.request.user)
