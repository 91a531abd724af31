from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from ...services.audit import AuditChainBroken, verify


class Command(BaseCommand):
    help = ("Check that the audit log is intact: every Wagtail log entry sealed, none edited or deleted. "
            "Exits 0 when intact; otherwise names the first break and exits 1.")

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS,
                            help="Database alias (default: the one DATABASE_URL names)")

    def handle(self, *args, database, **options):
        try:
            count = verify(using=database)
        except AuditChainBroken as exc:
            raise CommandError(f"The audit log is NOT intact: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"The audit log is intact: {count} entries, each sealed and chained."))
