from django.core.management.base import BaseCommand

from ...services.setup import ensure_template_library


class Command(BaseCommand):
    help = "Create the letter template library with its review workflow and role permissions (idempotent)."

    def handle(self, *args, **options):
        library = ensure_template_library()
        self.stdout.write(self.style.SUCCESS(f"Template library ready: {library.title} (page {library.pk})"))
