"""PDF rendering behind one interface, chosen by the ``PDF_BACKEND`` setting.

Both backends receive a complete, self-contained HTML document (images inlined as data:
URIs) and must never read a local file or open a network connection, whatever the content
or the customer data contains:

* WeasyPrint gets a URL fetcher that serves ``data:`` URIs and refuses everything else, and
  no base URL, so relative references resolve to nothing.
* wkhtmltopdf runs with local file access disabled, JavaScript off, and every request sent
  to a proxy on a closed loopback port, so http(s) references fail without leaving the machine.
* Typst gets Typst source translated from the document (rendering/typst_document.py), in
  which every text is a string literal, and a root folder of its own per render holding only
  the letter's images decoded from data: URIs; its package folders are empty, and it knows
  only the fonts in ``font_paths`` (and those built into Typst).
"""

import atexit
import hashlib
import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from ..conf import PDF_BACKENDS, load_backend

logger = logging.getLogger(__name__)


class PdfRenderingError(Exception):
    pass


@dataclass
class PdfMetadata:
    title: str = ""
    subject: str = ""  # the letter's reference number
    author: str = ""  # the organisation
    created: object = None  # an aware datetime; fixes the PDF's dates for reproducibility


@dataclass
class PageSetup:
    """Sheet and margins in millimetres. WeasyPrint reads them from the document's @page rule;
    wkhtmltopdf ignores @page and takes them as options."""

    width: float = 210
    height: float = 297
    margin_top: float = 25
    margin_right: float = 20
    margin_bottom: float = 25
    margin_left: float = 25

    @classmethod
    def for_layout(cls, layout):
        if layout is None:
            return cls()
        width, height = layout.sheet_size
        return cls(width, height, layout.margin_top, layout.margin_right, layout.margin_bottom, layout.margin_left)


@dataclass
class RenderedPdf:
    content: bytes
    pages: int
    refused_urls: list = field(default_factory=list)
    sealed_by: str = ""  # the sealing certificate's SHA-256 (pdf_seal.py), once sealed

    @property
    def sha256(self):
        return hashlib.sha256(self.content).hexdigest()


def count_pages(content):
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(content)).pages)


# Typst writes one flat page tree: its root is the only "/Type/Pages" dictionary, with the
# page count next to it. Reading it there takes microseconds; pypdf takes a millisecond.
TYPST_PAGE_TREE = re.compile(rb"/Type\s*/Pages\s*/Count\s+(\d+)")


def count_typst_pages(content):
    """The page count of a PDF Typst wrote. Anything else than exactly one page tree root
    where Typst puts it (text in the metadata that looks like one, say) is left to pypdf."""
    found = TYPST_PAGE_TREE.findall(content)
    return int(found[0]) if len(found) == 1 else count_pages(content)


class PdfBackend:
    name = ""
    supports_page_counters = False
    supports_pdfa = False

    def render(self, html, metadata, page=None, variant=None):
        """Return a RenderedPdf for the HTML document."""
        raise NotImplementedError


_fonts = threading.local()


def _font_configuration():
    """One font configuration per thread: a new one for every render keeps native memory
    (about 0.2 MiB a letter, gigabytes over a large batch) and is slower."""
    if getattr(_fonts, "config", None) is None:
        from weasyprint.text.fonts import FontConfiguration

        _fonts.config = FontConfiguration()
    return _fonts.config


class WeasyPrintBackend(PdfBackend):
    name = "weasyprint"
    supports_page_counters = True
    supports_pdfa = True

    def render(self, html, metadata, page=None, variant=None):
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher

        refused = []

        class DataOnlyFetcher(URLFetcher):
            def fetch(self, url, headers=None):
                if not url.startswith("data:"):
                    refused.append(url)
                    raise ValueError(f"external resources are not loaded in letters: {url[:200]}")
                return super().fetch(url, headers)

        document = HTML(string=html, base_url=None, url_fetcher=DataOnlyFetcher(allowed_protocols={"data"})).render(
            font_config=_font_configuration())
        document.metadata.title = metadata.title or document.metadata.title
        document.metadata.description = metadata.subject
        document.metadata.authors = [metadata.author] if metadata.author else []
        document.metadata.generator = "wagtail-correspondence"
        if metadata.created is not None:
            stamp = metadata.created.isoformat(timespec="seconds")
            document.metadata.created = document.metadata.modified = stamp
        options = {"pdf_variant": variant} if variant else {}
        if metadata.subject:
            # A stable document identifier: the same letter always gets the same one.
            options["pdf_identifier"] = hashlib.sha256(metadata.subject.encode()).hexdigest()[:32].encode()
        content = document.write_pdf(**options)
        return RenderedPdf(content=content, pages=len(document.pages), refused_urls=refused)


class PdfkitBackend(PdfBackend):
    """wkhtmltopdf through pdfkit. Debian's wkhtmltopdf is built on unpatched Qt: no running
    headers or footers and no page counters, so the letterhead header and footer print once
    and "Page X of Y" is left out. PDF/A is not available."""

    name = "pdfkit"
    # Nothing listens on the discard port; requests to it fail at once, on loopback.
    CLOSED_PROXY = "http://127.0.0.1:9"
    # wkhtmltopdf lays the page out at 96 dpi and prints it at 72, and unpatched Qt ignores
    # --zoom: the zoom goes into the document (whose envelope-window positions allow for it).
    ENGINE_CSS = "html.engine-wkhtmltopdf body { zoom: 1.3333; }"

    def __init__(self, wkhtmltopdf=None, timeout=60):
        self.wkhtmltopdf = wkhtmltopdf or shutil.which("wkhtmltopdf")
        self.timeout = timeout

    def options(self, metadata, page):
        page = page or PageSetup()
        return {
            "quiet": "",
            "encoding": "UTF-8",
            "disable-local-file-access": "",
            "disable-javascript": "",
            "proxy": self.CLOSED_PROXY,
            "proxy-hostname-lookup": "",
            "load-error-handling": "ignore",
            "load-media-error-handling": "ignore",
            # Unpatched Qt ignores --print-media-type, --zoom and --disable-smart-shrinking: the
            # document lays out as on screen, and its engine-wkhtmltopdf rules correct the scale.
            "title": metadata.title or metadata.subject or "Letter",
            "page-width": f"{page.width}mm", "page-height": f"{page.height}mm",
            "margin-top": f"{page.margin_top}mm", "margin-right": f"{page.margin_right}mm",
            "margin-bottom": f"{page.margin_bottom}mm", "margin-left": f"{page.margin_left}mm",
        }

    def render(self, html, metadata, page=None, variant=None):
        import pdfkit

        if variant:
            raise PdfRenderingError(f"the pdfkit backend cannot produce {variant}; use WeasyPrint")
        if not self.wkhtmltopdf:
            raise ImproperlyConfigured("wkhtmltopdf is not installed (Debian: apt-get install wkhtmltopdf)")
        configuration = pdfkit.configuration(wkhtmltopdf=self.wkhtmltopdf)
        env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent",
               "XDG_RUNTIME_DIR": "/tmp"}
        try:
            # pdfkit runs wkhtmltopdf with the document on stdin; no file is written.
            html = html.replace("<html ", '<html class="engine-wkhtmltopdf" ', 1).replace(
                "</head>", f"<style>{self.ENGINE_CSS}</style></head>", 1)
            generator = pdfkit.PDFKit(html, "string", options=self.options(metadata, page), configuration=configuration)
            args = generator.command(None)
            result = subprocess.run(args, input=generator.source.to_s().encode("utf-8"), capture_output=True,
                                    timeout=self.timeout, env=env, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfRenderingError(f"wkhtmltopdf failed: {exc}") from exc
        content = result.stdout
        if not content.startswith(b"%PDF"):
            raise PdfRenderingError(f"wkhtmltopdf failed: {result.stderr.decode(errors='replace')[:500]}")
        content = _set_metadata(content, metadata)
        return RenderedPdf(content=content, pages=count_pages(content))


# The fonts the layouts offer (DejaVu and Liberation) and Noto Color Emoji, where Debian
# installs them (scripts/install-system-deps.sh). No other font of the system is seen.
TYPST_FONT_PATHS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation2",
                    "/usr/share/fonts/truetype/liberation", "/usr/share/fonts/truetype/noto")
# PDF/A-2b: archival, and the part that allows transparency (a PNG logo with an alpha channel
# is refused by PDF/A-1). Typst's names for the standards it can write.
TYPST_DEFAULT_STANDARD = "a-2b"
TYPST_STANDARDS = {"pdf/a-2b": "a-2b", "pdf/a-2u": "a-2u", "pdf/a-3b": "a-3b", "pdf/a-3u": "a-3u",
                   "pdf/a-4": "a-4", "pdf/ua-1": "ua-1"}


_typst = threading.local()


_empty_folders_lock = threading.Lock()
_empty_folders = {}


def _empty_folder(purpose):
    """One empty folder per process and purpose, removed when the process ends: Typst's
    package paths (nothing to import, nothing to download) and the root of a letter without
    images (nothing to read)."""
    with _empty_folders_lock:
        if purpose not in _empty_folders:
            folder = tempfile.mkdtemp(prefix=f"typst-{purpose}-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _empty_folders[purpose] = folder
        return _empty_folders[purpose]


class TypstBackend(PdfBackend):
    """Typst, from Typst source translated from the print document. Writes PDF/A-2b (or the
    PDF/A part of ``PDF_VARIANT``) that is also PDF/UA-1, the same bytes for the same letter.

    A letter with a character that none of the fonts can draw (an emoji, most scripts of
    Asia) cannot be PDF/A: the standard forbids text drawn with a font's "missing glyph".
    Such a letter is rendered as a plain tagged PDF instead, with a warning in the log."""

    name = "typst"
    supports_page_counters = True
    supports_pdfa = True

    def __init__(self, font_paths=None):
        paths = TYPST_FONT_PATHS if font_paths is None else font_paths
        self.font_paths = tuple(path for path in paths if os.path.isdir(path))

    def _compiler(self):
        """One compiler per thread and set of fonts, kept across backends (the services make a
        backend per letter): it loads each font once and reuses layout between letters. Its
        package folders are an empty folder; each render gives it a root of its own."""
        compilers = _typst.__dict__.setdefault("compilers", {})
        compiler = compilers.get(self.font_paths)
        if compiler is None:
            import typst

            packages = _empty_folder("no-packages")
            compiler = compilers[self.font_paths] = typst.Compiler(
                root=packages, font_paths=list(self.font_paths), ignore_system_fonts=True, package_path=packages,
                package_cache_path=packages)
        return compiler

    def render(self, html, metadata, page=None, variant=None):
        from .typst_document import translate

        if variant and variant not in TYPST_STANDARDS:
            raise PdfRenderingError(f"the typst backend cannot produce {variant}")
        standard = TYPST_STANDARDS[variant] if variant else TYPST_DEFAULT_STANDARD
        document = translate(html, page=page, title=metadata.title, author=metadata.author,
                             description=metadata.subject, created=metadata.created)
        if document.images.files:
            with tempfile.TemporaryDirectory(prefix="typst-letter-") as root:
                for name, content in document.images.files.items():
                    with open(os.path.join(root, name), "wb") as handle:
                        handle.write(content)
                content = self._compile(document, standard, metadata, root)
        else:  # nothing to read: an empty root, shared, saves a folder per letter
            content = self._compile(document, standard, metadata, _empty_folder("no-images"))
        return RenderedPdf(content=content, pages=count_typst_pages(content), refused_urls=document.images.refused)

    def _compile(self, document, standard, metadata, root):
        import typst

        options = {"format": "pdf", "root": root, "timestamp": int(document.created.timestamp()), "pdf_tags": True}
        source = document.source.encode("utf-8")
        standards = [standard] if standard == "ua-1" else [standard, "ua-1"]
        try:
            try:
                return self._compiler().compile(input=source, pdf_standards=standards, **options)
            except typst.TypstError as exc:
                if "could not be displayed" not in str(exc):
                    raise
                # A character no font draws: PDF/A refuses the letter; a tagged PDF it is.
                logger.warning("Typst: the letter %r is not %s: %s", metadata.subject, standard, str(exc)[:200])
                return self._compiler().compile(input=source, pdf_standards=[], **options)
        except typst.TypstError as exc:
            raise PdfRenderingError(f"Typst failed: {str(exc)[:500]}") from exc


def _set_metadata(content, metadata):
    """wkhtmltopdf sets only the title; author and subject are written with pypdf."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    info = {"/Title": metadata.title or "", "/Subject": metadata.subject or "", "/Author": metadata.author or "",
            "/Producer": "wagtail-correspondence (wkhtmltopdf)"}
    if metadata.created is not None:
        stamp = metadata.created.strftime("D:%Y%m%d%H%M%S") + "Z"
        info["/CreationDate"] = info["/ModDate"] = stamp
    writer.add_metadata(info)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def get_pdf_backend():
    return load_backend("PDF_BACKEND", PDF_BACKENDS)


def render_pdf(html, metadata, page=None, variant=None, backend=None):
    backend = backend or get_pdf_backend()
    result = backend.render(html, metadata, page=page, variant=variant)
    if result.refused_urls:
        logger.warning("PDF rendering refused %d external reference(s), e.g. %s", len(result.refused_urls),
                       result.refused_urls[0][:200])
    return result
