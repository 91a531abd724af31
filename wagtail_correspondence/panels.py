"""Edit-handler panels of the content library."""

from django import forms
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, InlinePanel


class EnclosureFileInput(forms.ClearableFileInput):
    """The enclosure's PDF field: the current file as a link that opens it through the
    library's own view (the file sits in private storage, which has no URL), with its pages
    and SHA-256, instead of the storage path."""

    template_name = "wagtail_correspondence/widgets/enclosure_file_input.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        instance = getattr(value, "instance", None)
        url = ""
        if instance is not None and instance.pk and getattr(value, "_committed", False):
            try:
                url = reverse("wagtailsnippets_wagtail_correspondence_enclosure:pdf", args=[instance.pk])
            except NoReverseMatch:
                url = ""
        context["widget"]["current"] = instance if url else None
        context["widget"]["current_url"] = url
        return context


class TableInlinePanel(InlinePanel):
    """An inline panel shown as a table: one row per child, one column per field, so a data
    dictionary's fields read as a list rather than a page per field.

    It keeps everything Wagtail's InlinePanel does (the formset, adding, deleting, ordering
    with the buttons or by dragging): the rows carry the same ids and data attributes its script
    looks for (js/table-inline-panel.js starts it, with no inline script). Each field keeps its
    own error message in its cell, and its label for assistive technology."""

    def __init__(self, relation_name, columns=None, add_label=None, **kwargs):
        super().__init__(relation_name, **kwargs)
        self.columns = columns
        self.add_label = add_label

    def clone_kwargs(self):
        kwargs = super().clone_kwargs()
        kwargs.update(columns=self.columns, add_label=self.add_label)
        return kwargs

    def column_names(self):
        """The fields shown as columns: as given, else those of the child's field panels."""
        if self.columns:
            return list(self.columns)
        return [panel.field_name for panel in self.panel_definitions if isinstance(panel, FieldPanel)]

    class BoundPanel(InlinePanel.BoundPanel):
        template_name = "wagtail_correspondence/panels/table_inline_panel.html"

        class Media:
            js = ["wagtail_correspondence/js/table-inline-panel.js"]
            css = {"all": ["wagtail_correspondence/css/merge-fields.css"]}

        def row(self, child):
            return {"child": child, "cells": [child.form[name] for name in self.panel.column_names()]}

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            if self.form is None:
                return context
            context["columns"] = [{"name": name, "label": self.empty_child.form[name].label}
                                  for name in self.panel.column_names()]
            context["rows"] = [self.row(child) for child in self.children]
            context["empty_row"] = self.row(self.empty_child)
            context["add_label"] = self.panel.add_label or _("Add %(label)s") % {"label": self.label}
            return context
