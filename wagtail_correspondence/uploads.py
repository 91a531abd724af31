"""Uploaded files are judged by their content, never by their name or the browser's word.

One module for the portal (customer replies) and the register (scans, mail attachments), so
both accept and refuse the same things.
"""

import re
import zipfile
from io import BytesIO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# (magic bytes, content type, extension)
SIGNATURES = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"II*\x00", "image/tiff", "tif"),
    (b"MM\x00*", "image/tiff", "tif"),
]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXTENSIONS = {content_type: extension for _magic, content_type, extension in SIGNATURES}
EXTENSIONS.update({DOCX: "docx", "text/plain": "txt", "message/rfc822": "eml"})
LABELS = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG", "image/tiff": "TIFF",
          "text/plain": gettext_lazy("plain text"), "message/rfc822": gettext_lazy("email message"),
          DOCX: gettext_lazy("Word document")}


# Alternative extensions people give files of each type; any other is replaced (see content_name).
ALIASES = {"jpg": {"jpeg", "jpe"}, "tif": {"tiff"}, "txt": {"text", "csv", "log", "md"}}

# Programs, refused whatever the configuration allows: Windows (MZ, with the NUL bytes text never
# has), Linux (ELF), macOS (Mach-O, fat binaries), WebAssembly, scripts with an interpreter line.
EXECUTABLE_SIGNATURES = (b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                         b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\x00asm", b"#!")
# Text a browser would run as a page or an image with scripts: never "plain text".
MARKUP_RE = re.compile(rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|frame|object|embed|applet|meta|link|"
                       rb"style|form|base|math|\?xml|xsl)\b|\bjavascript\s*:", re.IGNORECASE)


def is_executable(content):
    if content.startswith(b"MZ") and b"\x00" in content[:1024]:
        return True
    return content.startswith(EXECUTABLE_SIGNATURES)


def _is_docx(content):
    if not content.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        return False
    # A Word document with macros (vbaProject.bin) is a .docm whatever its name: not accepted.
    return "[Content_Types].xml" in names and "word/document.xml" in names and "word/vbaProject.bin" not in names


def _is_text(content):
    if b"\x00" in content[:8192] or MARKUP_RE.search(content[:65536]):
        return False
    try:
        content[:65536].decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is fine.
        return exc.start >= len(content[:65536]) - 3
    return True


def _is_message(content):
    head = content[:4096].decode("latin-1")
    return any(line.lower().startswith(("from:", "message-id:", "received:", "return-path:"))
               for line in head.splitlines()[:40]) and "\n\n" in content[:65536].decode("latin-1").replace("\r", "")


def sniff(content):
    """The content type of ``content`` by what it is, or None when it is nothing we know (or a
    program, or markup that would run scripts)."""
    if is_executable(content):
        return None
    for magic, content_type, _extension in SIGNATURES:
        if content.startswith(magic):
            return content_type
    if _is_docx(content):
        return DOCX
    if _is_message(content):
        return "message/rfc822"
    if _is_text(content):
        return "text/plain"
    return None


def check_content(content, *, allowed, max_bytes, field="file"):
    """(content type, extension) of acceptable ``content``; ValidationError naming ``field``."""
    if len(content) > max_bytes:
        raise ValidationError({field: _("The file is larger than %(mb)s MB.") % {"mb": max_bytes // 1024 // 1024}})
    if not content:
        raise ValidationError({field: _("The file is empty.")})
    content_type = sniff(content)
    if content_type is None or content_type not in allowed:
        raise ValidationError({field: _("This type of file is not accepted. Attach %(types)s.") % {
            "types": ", ".join(str(LABELS.get(allowed_type, allowed_type)) for allowed_type in allowed)}})
    return content_type, EXTENSIONS[content_type]


def read_upload(upload, *, allowed, max_bytes, field="file"):
    """Read an uploaded file without loading more than the limit: (content, type, extension)."""
    if upload.size is not None and upload.size > max_bytes:
        raise ValidationError({field: _("The file is larger than %(mb)s MB.") % {"mb": max_bytes // 1024 // 1024}})
    content = upload.read(max_bytes + 1)
    content_type, extension = check_content(content, allowed=allowed, max_bytes=max_bytes, field=field)
    return content, content_type, extension


def content_name(filename, content_type):
    """``filename`` with the extension of what the file is: ``invoice.exe`` holding a PDF is
    ``invoice.pdf``, so that whoever downloads it later opens it as what it is."""
    extension = EXTENSIONS[content_type]
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip() or "file"
    stem, dot, current = name.rpartition(".")
    if dot and stem and (current.lower() == extension or current.lower() in ALIASES.get(extension, ())):
        return name
    return f"{stem if dot and stem else name}.{extension}"
