from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailCorrespondenceAppConfig(AppConfig):
    name = "wagtail_correspondence"
    label = "wagtail_correspondence"
    verbose_name = _("Correspondence")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks, signal_handlers  # noqa: F401
        from .review.permissions import register_policies
        from .versioning import register_versioned_models

        register_versioned_models()
        # Before anything asks Wagtail's registry (which would create a default policy).
        register_policies()
