"""Permission policies of letters, batches, print runs and portal replies: Wagtail's interface
over the one scope rule in services/letter_access.py, for every admin view (Wagtail's
generated ones included) and the API."""

from ..models import Letter, LetterBatch, PortalResponse, PrintRun
from ..services import letter_access as access
from ..services.letters import editable_drafts
from .base import ScopedPermissionPolicy


class LetterPolicy(ScopedPermissionPolicy):
    """view: the letters the user may read (department subtree, their own, confidentiality);
    add: building letters; change and delete: drafts, by the agent who started them (and
    administrators); a generated letter is a record and is never changed or deleted."""

    def __init__(self):
        super().__init__(Letter)

    def user_has_permission(self, user, action):
        if action == "view":
            return access.may_list_letters(user)
        if action in ("change", "delete"):
            return user.is_active and (user.has_perm(access.ADD_LETTER) or user.is_superuser)
        return super().user_has_permission(user, action)

    def scope(self, user, action, queryset):
        visible = access.visible_letters(user, queryset)
        if action == "view":
            return visible
        if action in ("change", "delete"):
            return editable_drafts(user, visible)
        return visible if self.user_has_permission(user, action) else queryset.none()


class BatchPolicy(ScopedPermissionPolicy):
    """Batches hold a customer list: their creator and users who see every department's
    letters may see one; only its creator (or an administrator) starts, resumes or cancels it."""

    def __init__(self):
        super().__init__(LetterBatch)

    def user_has_permission(self, user, action):
        return user.is_active and (access.may_list_letters(user) or user.has_perm(access.VIEW_ALL_LETTERS))

    def scope(self, user, action, queryset):
        visible = access.visible_batches(user, queryset)
        if action == "view" or user.is_superuser:
            return visible
        return visible.filter(created_by=user) if user.has_perm(access.ADD_LETTER) else queryset.none()


class PrintRunPolicy(ScopedPermissionPolicy):
    """A print run's merged PDF and manifest hold the letters of every department."""

    def __init__(self):
        super().__init__(PrintRun)

    def user_has_permission(self, user, action):
        return user.is_active and user.has_perm(access.VIEW_ALL_LETTERS)

    def scope(self, user, action, queryset):
        return queryset if self.user_has_permission(user, action) else queryset.none()


class PortalResponsePolicy(ScopedPermissionPolicy):
    """A customer's reply is seen by those who may see the letter it answers."""

    def __init__(self):
        super().__init__(PortalResponse)

    def user_has_permission(self, user, action):
        return action == "view" and access.may_list_letters(user)

    def scope(self, user, action, queryset):
        if action != "view":
            return queryset.none()
        return queryset.filter(letter__in=access.visible_letters(user).values("pk"))


letter_policy = LetterPolicy()
batch_policy = BatchPolicy()
print_run_policy = PrintRunPolicy()
portal_response_policy = PortalResponsePolicy()
