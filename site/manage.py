#!/usr/bin/env python
import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # The reference site lives beside the installable app; make both importable
    # whichever directory the command is run from.
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "correspondence_site.settings.dev")

    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
