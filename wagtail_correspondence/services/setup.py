"""Idempotent installation steps that need pages, which migrations cannot create safely."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from wagtail.models import GroupPagePermission, Page, Workflow, WorkflowPage

from .. import roles
from ..conf import get_setting
from ..models import TemplateLibraryPage


def review_workflow():
    return Workflow.objects.filter(name=get_setting("REVIEW_WORKFLOW_NAME")).first()


@transaction.atomic
def ensure_template_library(title="Letter templates"):
    """The template library root, outside every site's tree so it is never served publicly,
    with the review workflow and the roles' page permissions attached."""
    library = TemplateLibraryPage.objects.first()
    if library is None:
        root = Page.get_first_root_node()
        library = root.add_child(instance=TemplateLibraryPage(title=title, slug="letter-templates", live=True))
        library.save_revision().publish()
    for each in TemplateLibraryPage.objects.all():  # the library of every language (wagtail-localize)
        attach_library_rules(each)
    return library


def attach_library_rules(library):
    """The review workflow and the roles' page permissions, on a template library: the first
    one, and each language's copy that wagtail-localize makes when a template is translated
    (its templates are reviewed and edited by the same people, under the same rules)."""
    workflow = review_workflow()
    if workflow is not None:
        WorkflowPage.objects.update_or_create(page=library, defaults={"workflow": workflow})
    for role, codenames in roles.LIBRARY_PAGE_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        for codename in codenames:
            permission = Permission.objects.get(content_type__app_label="wagtailcore", codename=codename)
            GroupPagePermission.objects.get_or_create(group=group, page=library, permission=permission)


def library_without_web_pages(request):
    """The template library when the site has no web pages besides it (the admin then speaks of
    letter templates instead of pages), else None. Asked by the main menu, the reports menu and
    the dashboard of every admin page: read once per request."""
    if not hasattr(request, "_correspondence_library"):
        library = TemplateLibraryPage.objects.first()
        request._correspondence_library = library if library and not serves_web_pages(library) else None
    return request._correspondence_library


def serves_web_pages(library):
    """Whether the site has web pages besides the template library: pages outside the library
    other than its sites' root pages (Wagtail's first page included). The admin then keeps
    Wagtail's page words beside the library's."""
    from wagtail.models import Site

    pages = Page.objects.filter(depth__gt=1).exclude(pk__in=Site.objects.values("root_page"))
    for path in TemplateLibraryPage.objects.values_list("path", flat=True):  # each language's library
        pages = pages.exclude(path__startswith=path)
    return pages.exists()
