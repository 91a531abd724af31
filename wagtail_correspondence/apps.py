from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailCorrespondenceAppConfig(AppConfig):
    name = "wagtail_correspondence"
    label = "wagtail_correspondence"
    verbose_name = _("Correspondence")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import checks, signal_handlers  # noqa: F401
        from .configuration_stamp import installed_after_migrate
        from .json_limits import register_form_field_override
        from .permissions import register_permission_policies
        from .rendering.model_engine import connect as connect_rendering_engine
        from .services.register_exports import connect as connect_register_exports
        from .versioning import register_versioned_models

        connect_rendering_engine()
        register_versioned_models()
        register_form_field_override()
        register_permission_policies()
        connect_register_exports(_write_register_list)
        post_migrate.connect(installed_after_migrate, sender=self, dispatch_uid="correspondence_configuration_stamp")


def _write_register_list(*args, **kwargs):
    # The admin's register list, imported when a background export first needs it rather than
    # by every process at start-up (services/register_exports.py).
    from .modeladmin import write_register_list

    return write_register_list(*args, **kwargs)
