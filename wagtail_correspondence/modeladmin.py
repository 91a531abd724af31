"""Organisation structure in the admin through wagtail-modeladmin (register-side models)."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail_modeladmin.options import ModelAdmin

from .forms import DepartmentForm
from .models import Department


class DepartmentAdmin(ModelAdmin):
    model = Department
    menu_label = _("Departments")
    menu_icon = "group"
    menu_order = 900
    add_to_settings_menu = True
    list_display = ("indented_name", "code", "email", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "code")
    ordering = ("path",)
    edit_handler = ObjectList([
        FieldPanel("parent"), FieldPanel("name"), FieldPanel("code"), FieldPanel("email"),
        FieldPanel("description"), FieldPanel("members"), FieldPanel("is_active"),
    ], base_form_class=DepartmentForm)

    def indented_name(self, obj):
        return obj.indented_name

    indented_name.short_description = _("Name")
    indented_name.admin_order_field = "path"
