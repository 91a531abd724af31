from django.core.management.base import BaseCommand, CommandError

from ...encryption import DecryptionError
from ...services.key_rotation import rotate


class Command(BaseCommand):
    help = ("Re-encrypt customer data and files under the first of WAGTAIL_CORRESPONDENCE['ENCRYPTION_KEYS'] "
            "(values stored in plain get encrypted). With --check, only count what is not under the first key "
            "yet, and exit 1 if anything is: run it before removing an old key.")

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Count, change nothing; exit 1 if anything is stale")

    def handle(self, *args, check, **options):
        try:
            report = rotate(check_only=check)
        except DecryptionError as exc:
            raise CommandError(f"{exc} Put the old key back in ENCRYPTION_KEYS (after the new one).") from exc
        for label, count in sorted(report.rows.items()):
            self.stdout.write(f"  {label}: {count} row(s)")
        for alias, count in sorted(report.files.items()):
            self.stdout.write(f"  storage {alias!r}: {count} file(s)")
        if check:
            if report.total_rows or report.total_files:
                raise CommandError(f"Not under the first key yet: {report.total_rows} row(s), "
                                   f"{report.total_files} file(s). Run correspondence_rotate_keys.")
            self.stdout.write(self.style.SUCCESS("Everything is encrypted under the first key."))
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Re-encrypted under the first key: {report.total_rows} row(s), {report.total_files} file(s)."))
