from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailCorrespondenceAppConfig(AppConfig):
    name = "wagtail_correspondence"
    label = "wagtail_correspondence"
    verbose_name = _("Correspondence")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks, signal_handlers  # noqa: F401
        from .json_limits import register_form_field_override
        from .permissions import register_permission_policies
        from .rendering.model_engine import connect as connect_rendering_engine
        from .versioning import register_versioned_models

        connect_rendering_engine()
        register_versioned_models()
        register_form_field_override()
        register_permission_policies()
