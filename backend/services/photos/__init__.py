"""Ticket photos, one module per capability:

- ``checks``: checking uploads inside the request (size, format allow-list, pixel
  limit, a complete decode) before anything is stored;
- ``structure``: where an image ends (trailing data is stripped) and a JPEG's scans;
- ``files``: storing the checked originals, deleting files after a commit, sweeping
  orphans;
- ``variants``: the display and thumbnail JPEGs (sRGB, no metadata, upright);
- ``processing``: making one photo's variants (the ``photos.process`` job commits).

The names other modules use are re-exported here.
"""
from backend.services.photos.checks import (  # noqa: F401
    ALLOWED_FORMATS,
    CheckedImage,
    check_image,
    check_uploads,
    jpeg_scans_cover,
    open_image,
    read_capped,
)
from backend.services.photos.files import (  # noqa: F401
    add_photos,
    delete_after_commit,
    delete_files,
    sweep_orphans,
)
from backend.services.photos.processing import PhotoFailed, process_photo  # noqa: F401
from backend.services.photos.structure import (  # noqa: F401
    image_end,
    jpeg_end,
    jpeg_scans,
    png_end,
    webp_end,
)
from backend.services.photos.variants import Variant, in_srgb, render_variants  # noqa: F401
