"""Admin forms that need more than Wagtail's generated ones."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.blocks import StreamBlockValidationError

from .models import Department


class MergeFieldCheckedForm(WagtailAdminModelForm):
    """Checks merge fields against the data dictionary and pins each problem on its block,
    so the editor highlights exactly the block that is wrong."""

    def clean(self):
        cleaned_data = super().clean()
        body = cleaned_data.get("body")
        dictionary = cleaned_data.get("data_dictionary")
        if body is None or dictionary is None or "body" in self.errors:
            return cleaned_data
        from .rendering.fragments import check_fragment_body

        problems = check_fragment_body(body, dictionary.field_index())
        if problems:
            by_block = {}
            for problem in problems:
                by_block.setdefault(problem.block_index, []).append(str(problem))
            self.add_error("body", StreamBlockValidationError(
                block_errors={index: ValidationError(messages) for index, messages in by_block.items()
                              if index is not None},
                non_block_errors=[ValidationError(_("%(count)s merge field problem(s): %(first)s") % {
                    "count": len(problems), "first": problems[0]})],
            ))
        # The model's own clean() would repeat the same check; the form has done it.
        self.instance._merge_fields_checked = True
        return cleaned_data


class DepartmentForm(WagtailAdminModelForm):
    """Departments form a tree: the parent is chosen here and the node placed with treebeard."""

    parent = forms.ModelChoiceField(queryset=Department.objects.none(), required=False, label=_("Parent department"),
                                    help_text=_("Leave empty for a top-level department"))

    class Meta:
        model = Department
        fields = ["name", "code", "email", "description", "members", "is_active"]
        widgets = {"members": forms.SelectMultiple(attrs={"size": 8})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        queryset = Department.objects.order_by("path")
        if self.instance.pk:
            # A department cannot move below itself.
            queryset = queryset.exclude(path__startswith=self.instance.path)
            self.initial.setdefault("parent", self.instance.get_parent())
        self.fields["parent"].queryset = queryset
        self.fields["parent"].label_from_instance = lambda department: department.indented_name
        self.fields["members"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")

    @transaction.atomic
    def save(self, commit=True):
        instance = super().save(commit=False)
        parent = self.cleaned_data.get("parent")
        if instance.pk is None:
            instance = parent.add_child(instance=instance) if parent else Department.add_root(instance=instance)
        else:
            instance.save()
            current_parent = instance.get_parent()
            if parent != current_parent:
                if parent:
                    instance.move(parent, pos="sorted-child")
                else:
                    instance.move(Department.get_first_root_node(), pos="sorted-sibling")
                instance.refresh_from_db()
        self.save_m2m()
        return instance
