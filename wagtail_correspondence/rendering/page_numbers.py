"""The layout's page-number wording, shared by the print document (CSS) and the Typst backend."""

PAGE, PAGES = object(), object()


def page_number_parts(template):
    """The layout's page-number wording ("Page {page} of {pages}") as text and the two counters,
    in order: each PDF backend writes the counters its own way."""
    for chunk in template.replace("{pages}", "\x00pages\x00").replace("{page}", "\x00page\x00").split("\x00"):
        if chunk == "page":
            yield PAGE
        elif chunk == "pages":
            yield PAGES
        elif chunk:
            yield chunk
