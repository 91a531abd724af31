from django.utils.translation import gettext_lazy as _

from .engine import engine

SAMPLE_MODE_PREFIX = "sample-"


class SandboxedPreviewMixin:
    """Every preview of rendered content (Wagtail's preview panel, a preview opened in a new
    tab, revision and workflow previews: they all go through serve_preview) answers with the
    RENDERED policy: no script runs in it, whatever markup the content holds."""

    def serve_preview(self, request, mode_name):
        from ..content_security import with_policy

        return with_policy(super().serve_preview(request, mode_name), "RENDERED")


class SampleDataPreviewMixin(SandboxedPreviewMixin):
    """Previews that render content with one of the data dictionary's sample data sets.

    Each sample set is a preview mode, so reviewers switch between "typical customer" and
    "customer in arrears" from Wagtail's preview panel.
    """

    preview_template = "wagtail_correspondence/previews/content.html"

    def preview_dictionary(self):
        raise NotImplementedError

    def render_preview_body(self, data):
        raise NotImplementedError

    def preview_sample_sets(self):
        dictionary = self.preview_dictionary()
        return list(dictionary.sample_data_sets.all()) if dictionary else []

    @property
    def preview_modes(self):
        modes = [(f"{SAMPLE_MODE_PREFIX}{sample.pk}", sample.name) for sample in self.preview_sample_sets()]
        return modes or [("", _("No sample data"))]

    @property
    def default_preview_mode(self):
        return self.preview_modes[0][0]

    def sample_for_mode(self, mode_name):
        samples = self.preview_sample_sets()
        for sample in samples:
            if mode_name == f"{SAMPLE_MODE_PREFIX}{sample.pk}":
                return sample
        return samples[0] if samples else None

    def get_preview_template(self, request, mode_name):
        return self.preview_template

    def get_preview_context(self, request, mode_name):
        context = super().get_preview_context(request, mode_name)
        sample = self.sample_for_mode(mode_name)
        dictionary = self.preview_dictionary()
        data = dictionary.coerce_payload(sample.data) if sample and dictionary else {}
        context.update({"object": self, "sample": sample, "data": data})
        try:
            context["rendered"] = self.render_preview_body(data)
        except engine().MergeError as exc:
            context["error"] = exc
        return context
