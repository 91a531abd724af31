"""Admin forms that need more than Wagtail's generated ones."""

import reversion
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.blocks import StreamBlockValidationError

from . import schema
from .models import BusinessCalendar, Category, Department, Kind, RegisterChannel, RoutingRule


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


class DataDictionaryForm(WagtailAdminModelForm):
    """Checks the fields as a whole (a name used twice, a field under one that is not a list)
    and pins each problem on the row and cell it concerns, as the table of fields shows them.
    The model's clean() runs the same check; left to it, the problem would surface only when
    the dictionary is saved, as an error of the whole form."""

    def clean(self):
        cleaned_data = super().clean()
        formset = self.formsets.get("fields")
        if formset is None or not formset.is_valid():
            return cleaned_data  # each row's own errors first
        # The rows that will be saved: not deleted, and not an added row left empty.
        rows = [form for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        specs = [schema.FieldSpec(name=form.cleaned_data.get("name") or "", label=form.cleaned_data.get("label") or "",
                                  type=form.cleaned_data.get("field_type") or schema.TEXT)
                 for form in rows]
        for index, field_name, message in schema.check_field_specs(specs):
            rows[index].add_error(field_name, message)
        return cleaned_data


class VersionedForm(WagtailAdminModelForm):
    """Saves inside a django-reversion revision with the editing user, so that rules,
    policies and trees keep every earlier version."""

    def save(self, commit=True):
        if not commit:
            return super().save(commit=False)
        with reversion.create_revision():
            instance = self._save_versioned()
            user = getattr(self, "for_user", None)
            if user is not None and user.is_authenticated:
                reversion.set_user(user)
            reversion.set_comment(_("Edited in the admin"))
        return instance

    def _save_versioned(self):
        return super().save(commit=True)


class TreeNodeForm(VersionedForm):
    """Departments and categories form trees: the parent is chosen here and the node placed
    with treebeard."""

    parent = forms.ModelChoiceField(queryset=Department.objects.none(), required=False, label=_("Parent"),
                                    help_text=_("Leave empty for a top-level entry"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model = self._meta.model
        queryset = model.objects.order_by("path")
        if self.instance.pk:
            # A node cannot move below itself.
            queryset = queryset.exclude(path__startswith=self.instance.path)
            self.initial.setdefault("parent", self.instance.get_parent())
        self.fields["parent"].queryset = queryset
        self.fields["parent"].label_from_instance = lambda node: node.indented_name

    @transaction.atomic
    def _save_versioned(self):
        model = self._meta.model
        instance = super(VersionedForm, self).save(commit=False)
        parent = self.cleaned_data.get("parent")
        if instance.pk is None:
            instance = parent.add_child(instance=instance) if parent else model.add_root(instance=instance)
        else:
            instance.save()
            current_parent = instance.get_parent()
            if parent != current_parent:
                if parent:
                    instance.move(parent, pos="sorted-child")
                else:
                    instance.move(model.get_first_root_node(), pos="sorted-sibling")
                instance.refresh_from_db()
        self.save_m2m()
        return instance


class DepartmentForm(TreeNodeForm):
    class Meta:
        model = Department
        fields = ["name", "code", "email", "description", "members", "supervisor", "calendar", "is_active"]
        widgets = {"members": forms.SelectMultiple(attrs={"size": 8})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].label = _("Parent department")
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["members"].queryset = users
        self.fields["supervisor"].queryset = users


class CategoryForm(TreeNodeForm):
    class Meta:
        model = Category
        fields = ["name", "code", "description", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].label = _("Parent category")


class RoutingRuleForm(VersionedForm):
    kinds = forms.MultipleChoiceField(label=_("Kinds"), choices=Kind.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: any kind"))
    channels = forms.MultipleChoiceField(label=_("Channels"), choices=RegisterChannel.choices, required=False,
                                         widget=forms.CheckboxSelectMultiple,
                                         help_text=_("None ticked: any channel"))

    class Meta:
        model = RoutingRule
        fields = ["name", "sort_order", "is_active", "direction", "kinds", "channels", "categories", "senders",
                  "keywords", "customer_condition", "department", "assignment", "assignee", "priority", "sla_policy"]
        widgets = {"categories": forms.SelectMultiple(attrs={"size": 6}), "senders": forms.Textarea(attrs={"rows": 2}),
                   "keywords": forms.Textarea(attrs={"rows": 2})}


class BusinessCalendarForm(VersionedForm):
    working_days = forms.TypedMultipleChoiceField(
        label=_("Working days"), coerce=int, widget=forms.CheckboxSelectMultiple,
        choices=[(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
                 (5, _("Saturday")), (6, _("Sunday"))])

    class Meta:
        model = BusinessCalendar
        fields = ["name", "country", "subdivision", "working_days", "day_start", "day_end", "time_zone",
                  "extra_closed_days"]


class LetterApprovalRuleForm(WagtailAdminModelForm):
    """A rule's conditions in the words of their empty value ("Any template", not "-------"),
    and templates picked from a list: the page chooser keeps letter templates out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .models import LetterTemplatePage

        template = self.fields["template"]
        template.queryset = LetterTemplatePage.objects.order_by("title")
        template.widget = forms.Select(choices=template.choices)
        template.empty_label = _("Any template")
        template.widget.choices = template.choices
        self.fields["department"].empty_label = _("Any department")
        self.fields["department"].widget.choices = self.fields["department"].choices
        channel = self.fields["channel"]
        channel.choices = [("", _("Any channel"))] + [item for item in channel.choices if item[0]]
