from rest_framework.permissions import BasePermission, DjangoModelPermissions


class ModelPermissionsWithView(DjangoModelPermissions):
    """Django model permissions, including ``view`` for reads (DRF's default lets any
    authenticated user read)."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


def any_permission(*codenames):
    """A permission class allowing users who hold any of ``codenames``."""

    class HasAnyPermission(BasePermission):
        message = "You do not have permission to do this."

        def has_permission(self, request, view):
            return any(request.user.has_perm(codename) for codename in codenames)

    HasAnyPermission.__name__ = f"HasAnyOf({', '.join(codenames)})"
    return HasAnyPermission
