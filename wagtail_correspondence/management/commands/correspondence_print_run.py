from django.core.management.base import BaseCommand, CommandError

from ...services.printing import PrintRunFailed, build_print_run, waiting_for_print


class Command(BaseCommand):
    help = ("Send every letter waiting for print as one print run (merged PDF and manifest), here and now, "
            "without the task queue. For cron.")

    def handle(self, *args, **options):
        waiting = waiting_for_print().count()
        try:
            run = build_print_run()
        except PrintRunFailed as exc:
            raise CommandError(f"The print run failed; the letters wait for the next one: {exc}") from exc
        if run is None:
            self.stdout.write("No letter is waiting for print.")
            return
        self.stdout.write(f"Print run {run.uuid}: {run.letter_count} letters, {run.page_count} pages, "
                          f"{run.sheet_count} sheets -> {run.pdf_path} ({waiting - run.letter_count} still waiting)")
