"""Template helpers of the product's admin screens."""

from django import template
from wagtail.models import Page
from wagtail.permission_policies.pages import PagePermissionPolicy

register = template.Library()


@register.filter
def works_with_pages(user):
    """Whether the dashboard's “Search all pages” means anything to ``user``: those who edit
    letter templates (pages) use it; correspondence staff have no page to find."""
    return PagePermissionPolicy(Page).user_has_any_permission(user, ["add", "change", "publish"])
