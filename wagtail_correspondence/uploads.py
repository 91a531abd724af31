"""Uploaded files are judged by their content, never by their name or the browser's word.

One module for the portal (customer replies) and the register (scans, mail attachments), so
both accept and refuse the same things.
"""

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


def _is_docx(content):
    if not content.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return False
    return "[Content_Types].xml" in names and "word/document.xml" in names


def _is_text(content):
    if b"\x00" in content[:8192]:
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
    """The content type of ``content`` by what it is, or None when it is nothing we know."""
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
