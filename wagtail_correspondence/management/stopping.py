"""Clean stops for the long-running commands (scheduler, outbox loop, supervisor).

Inside ``StopSignals()``, SIGTERM (and Ctrl+C, unless the shell told the process to ignore
it, as a background job of a non-interactive shell) sets ``event``: the command finishes
what it is doing and stops, and a sleep on ``event.wait()`` ends at once. A second Ctrl+C
raises KeyboardInterrupt, for work that will not finish. The previous handlers come back on
exit. Outside the main thread (where signals cannot be handled) it only provides the event.
"""

import signal
import threading


class StopSignals:
    def __init__(self, on_stop=None):
        self.event = threading.Event()
        self.on_stop = on_stop
        self.signum = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum
        self.event.set()
        if self.on_stop is not None:
            self.on_stop(signum)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._handle)
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self._previous[signal.SIGINT] = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        return False

    @property
    def requested(self):
        return self.event.is_set()

    def wait(self, seconds):
        """Sleep up to ``seconds``; True if a stop was asked for."""
        return self.event.wait(seconds)
