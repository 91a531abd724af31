"""The permission policy of register entries: Wagtail's interface over the one scope rule in
services/register_access.py, for the admin (ours and wagtail-modeladmin's views) and the API."""

from ..models import Correspondence
from ..services import register_access as access
from .base import ScopedPermissionPolicy


class RegisterEntryPolicy(ScopedPermissionPolicy):
    """view: the user's scope (departments below theirs, their own entries, confidentiality);
    change, assign, restore: the permission and the scope; delete: nobody, entries are records."""

    def __init__(self):
        super().__init__(Correspondence)

    def user_has_permission(self, user, action):
        if action == "delete":
            return False
        if action == "export":
            return access.can_export(user)
        return super().user_has_permission(user, action)

    def scope(self, user, action, queryset):
        if action == "delete" or not user.is_active:
            return queryset.none()
        visible = access.visible_entries(user, queryset)
        if action == "view":
            return visible
        if action == "restore":
            return visible if user.has_perm(access.RESTORE) and user.has_perm(access.CHANGE) else queryset.none()
        return visible if self.user_has_permission(user, action) else queryset.none()


register_entry_policy = RegisterEntryPolicy()
