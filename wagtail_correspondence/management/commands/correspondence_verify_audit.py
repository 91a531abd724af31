from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from ...services.audit import AuditChainBroken, AuditUnverifiable, verify


class Command(BaseCommand):
    help = ("Check that the audit log is intact: every Wagtail log entry sealed with a configured audit key, "
            "none edited or deleted, and the chain in agreement with every checkpoint in write-once storage. "
            "Exits 0 when intact; 1 naming the first break; 2 when the checkpoints could not be read.")

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS,
                            help="Database alias (default: the one DATABASE_URL names)")

    def handle(self, *args, database, **options):
        try:
            result = verify(using=database)
        except AuditChainBroken as exc:
            raise CommandError(f"The audit log is NOT intact: {exc}") from exc
        except AuditUnverifiable as exc:
            raise CommandError(f"The audit log could not be verified: {exc}", returncode=2) from exc
        self.stdout.write(self.style.SUCCESS(str(result)))
