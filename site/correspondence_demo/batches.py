"""The demo's finished batch: payment reminders for the first rows of the demo batch file,
checked, generated and printed while the demo is built, so that the batch page shows its dry
run (with the rows the data rules refuse and the channels rows really take), its letters, its
results file and its print run."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from wagtail.models import Locale

from wagtail_correspondence.models import LetterBatch, LetterTemplatePage
from wagtail_correspondence.services import batches as batch_service
from wagtail_correspondence.services.printing import build_print_run


NAME = "Payment reminders, first 12 rows of the demo batch file"
ROWS = 12  # rows 7 and 11 break a data rule; rows 3 and 9 ask for SMS (no backend: print)


def demo_file(path, rows=ROWS):
    """The header and the first ``rows`` rows of the demo batch file, as an upload."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))[:rows + 1]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(lines)
    return SimpleUploadedFile("batch-demo.csv", buffer.getvalue().encode("utf-8"), content_type="text/csv")


def finished_batch(builder, users, path):
    """Check, run and print the demo batch in this process (the demo's worker would do it in
    the background). Returns the batch; does nothing if it exists."""
    existing = LetterBatch.objects.filter(name=NAME).first()
    if existing is not None:
        return existing
    template = LetterTemplatePage.objects.live().get(slug="payment-reminder", locale=Locale.get_default()).specific
    agent = users["agent"]
    batch = batch_service.create_batch(agent, template, demo_file(path), name=NAME)
    # The tasks queued on commit find the batch checked and finished, and do nothing.
    batch_service.check_batch(batch.pk)
    batch = batch_service.start_batch(agent, LetterBatch.objects.get(pk=batch.pk))
    batch_service.run_batch(batch.pk)
    run = build_print_run(user=users["supervisor"])
    builder.note(True, f"batch of {batch.total_rows} payment reminders" + (
        f", print run of {run.letter_count} letters" if run else ""))
    return batch
