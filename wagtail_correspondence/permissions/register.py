"""The permission policy of register entries: Wagtail's interface over the one scope rule in
services/register_access.py, for the admin (ours and wagtail-modeladmin's views) and the API."""

from ..models import Correspondence, RegisterExport
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


class RegisterExportPolicy(ScopedPermissionPolicy):
    """A background export of the register holds what its requester's list showed: only they
    may see or download it, and only while they may export. Other users, supervisors and
    administrators included, are told it does not exist."""

    def __init__(self):
        super().__init__(RegisterExport)

    def user_has_permission(self, user, action):
        return action in ("view", "add") and access.can_export(user)

    def scope(self, user, action, queryset):
        if not self.user_has_permission(user, action):
            return queryset.none()
        return queryset.filter(requested_by=user)


register_export_policy = RegisterExportPolicy()
