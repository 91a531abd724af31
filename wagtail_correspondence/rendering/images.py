"""Images inside letters, as ``data:`` URIs.

A letter document must stand on its own: the PDF renderers fetch nothing (no files, no
network), an archived HTML copy keeps showing its images after the media library changes,
and the same content renders to the same bytes. So every image is read from Wagtail's image
storage here and embedded.
"""

import base64
import functools

# Large enough for print at the widths the image block allows (up to 200 mm).
RENDITION_FILTER = "max-1600x1600"

_MIME_TYPES = {"jpeg": "image/jpeg", "jpg": "image/jpeg", "png": "image/png", "gif": "image/gif",
               "webp": "image/webp", "avif": "image/avif", "svg": "image/svg+xml"}


@functools.lru_cache(maxsize=128)
def _data_uri(image_pk, file_hash, width, height, filter_spec):
    from wagtail.images import get_image_model

    image = get_image_model().objects.get(pk=image_pk)
    rendition = image.get_rendition(filter_spec)
    with rendition.file.open("rb") as handle:
        payload = handle.read()
    extension = rendition.file.name.rsplit(".", 1)[-1].lower()
    mime = _MIME_TYPES.get(extension, "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def inline_image_src(image, filter_spec=RENDITION_FILTER):
    """The image as a data: URI. Cached by the file's hash (or, for an image saved without
    one, its name and size), so a replaced file is re-read."""
    return _data_uri(image.pk, image.file_hash or str(image.file.name), image.width, image.height, filter_spec)
