"""The live server of the browser journeys, one request at a time.

The tests' database is SQLite in memory: the live server's threads use the test's own
connection object (pytest-django passes it to them), so two requests at once, or a request
and the test's own fixtures, share one set of transaction state. A request that opens a
transaction while another is inside one becomes a savepoint of the other, and its on-commit
work (the outbox handing an email to the task backend, a batch's dry run, a print run) is
attached to the other's transaction: it runs late, in the wrong request, or not at all. Pages
keep talking to the server in the background (Wagtail's editing-session pings, the beacon a
closing editor sends, the batch page's refresh), so such overlaps happen, and more often on a
loaded machine.

Here each request, its streamed body included, holds ``LOCK``; ``wait_until_idle()`` lets the
test's own database work wait for the request in progress.
"""

import threading

from django.core.servers.basehttp import ThreadedWSGIServer

LOCK = threading.RLock()


class OneRequestAtATimeServer(ThreadedWSGIServer):
    def set_app(self, application):
        def one_at_a_time(environ, start_response):
            with LOCK:
                result = application(environ, start_response)
                try:
                    body = list(result)
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()  # Django's request_finished: the request's end, inside the lock
            return body

        super().set_app(one_at_a_time)


def wait_until_idle():
    with LOCK:
        pass


def install():
    from django.test.testcases import LiveServerThread

    LiveServerThread.server_class = OneRequestAtATimeServer
