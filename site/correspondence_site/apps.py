from django.apps import AppConfig


class CorrespondenceSiteConfig(AppConfig):
    """The reference site itself: its landing page at / and the migration that names its home."""

    name = "correspondence_site"
    label = "correspondence_site"
    verbose_name = "Correspondence reference site"
