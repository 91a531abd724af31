from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ...content import DemoBuilder


class Command(BaseCommand):
    help = "Load the demo users and content (idempotent). Refused when DEBUG is off."

    def add_arguments(self, parser):
        parser.add_argument("--without-register", action="store_true",
                            help="Users and content only: no register entries, rules or demo letters")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("correspondence_demo creates users with a known password; it only runs with DEBUG on.")
        created = DemoBuilder(log=self.stdout.write, register=not options["without_register"]).build()
        if created:
            self.stdout.write(f"Created {len(created)} demo objects:")
            for label in created:
                self.stdout.write(f"  - {label}")
        else:
            self.stdout.write("Demo content already present; nothing to do.")
        self.stdout.write(self.style.SUCCESS(
            "Demo ready. Log in at /admin/ as author, reviewer, agent, officer, supervisor, auditor or admin."))
