from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail_modeladmin.options import modeladmin_register

from .modeladmin import DepartmentAdmin
from .viewsets import ContentLibraryViewSetGroup

register_snippet(ContentLibraryViewSetGroup)
modeladmin_register(DepartmentAdmin)


@hooks.register("construct_page_chooser_queryset")
def keep_template_library_out_of_link_choosers(pages, request):
    """Letter templates are internal; website editors should not link to them."""
    from .models import LetterTemplatePage, TemplateFolderPage, TemplateLibraryPage

    return pages.not_type(TemplateLibraryPage, TemplateFolderPage, LetterTemplatePage)
