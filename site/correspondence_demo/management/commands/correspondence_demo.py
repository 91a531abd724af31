import contextlib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings
from wagtail_correspondence.conf import get_setting

from ... import seal as demo_seal
from ...content import DemoBuilder


class Command(BaseCommand):
    help = "Load the demo users and content (idempotent). Refused when DEBUG is off."

    def add_arguments(self, parser):
        parser.add_argument("--without-register", action="store_true",
                            help="Users and content only: no register entries, rules or demo letters")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("correspondence_demo creates users with a known password; it only runs with DEBUG on.")
        with self._demo_seal():
            created = DemoBuilder(log=self.stdout.write, register=not options["without_register"]).build()
        if created:
            self.stdout.write(f"Created {len(created)} demo objects:")
            for label in created:
                self.stdout.write(f"  - {label}")
        else:
            self.stdout.write("Demo content already present; nothing to do.")
        self.stdout.write(self.style.SUCCESS(
            "Demo ready. Log in at /admin/ as author, reviewer, agent, officer, supervisor, auditor or admin."))

    def _demo_seal(self):
        """With the dev settings (DEMO_SEAL_DIR) and no seal of the site's own: the demo seal
        is made if missing, and the demo's letters are sealed with it (the settings pick it up
        at the server's next start)."""
        folder = getattr(settings, "DEMO_SEAL_DIR", None)
        if not folder or get_setting("PDF_SEAL"):
            return contextlib.nullcontext()
        if demo_seal.create(folder, get_setting("ORGANISATION_NAME")):
            self.stdout.write(f"Made the demo seal (a throwaway certificate) in {folder}")
        return override_settings(WAGTAIL_CORRESPONDENCE={
            **settings.WAGTAIL_CORRESPONDENCE, "PDF_SEAL": demo_seal.settings_for(folder)})
