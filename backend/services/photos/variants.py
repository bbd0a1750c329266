"""The display and thumbnail variants of a photo: decoded again (JPEG in draft mode
at the smallest scale that still covers the display size), resized with
``reducing_gap``, converted to sRGB from any colour profile, turned upright from the
EXIF orientation and re-encoded as JPEG with no EXIF (so no GPS), no comments and no
colour profile.
"""
from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass

from PIL import Image, ImageCms

from backend.errors import ValidationFailed
from backend.services.photos.checks import image_too_large, image_format, open_image

log = logging.getLogger(__name__)

DISPLAY_QUALITY = 82
THUMB_QUALITY = 78
# Camera and phone colour profiles are a few KB (Display P3: 0.5 KB); a larger one is
# not parsed at all: the pixels are then taken as sRGB.
MAX_ICC_PROFILE_BYTES = 256 * 1024
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

# EXIF orientation → the transpose that makes the pixels upright.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}



@dataclass(frozen=True)
class Variant:
    data: bytes
    width: int
    height: int


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - unreadable EXIF: leave the pixels as they are
        return 1
    return value if isinstance(value, int) else 1


def _normalised(image: Image.Image) -> Image.Image:
    """Decoded pixels in a mode that resizes and encodes well (L, RGB or RGBA)."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L"):
        image.load()
        return image
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if mode in ("LA", "PA", "La", "RGBa"):
        return image.convert("RGBA")
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16-bit greyscale: scale to 8 bits instead of clipping to white
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode == "1":
        return image.convert("L")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, ...


def _fit(image: Image.Image, box: int,
         resample: Image.Resampling = Image.Resampling.BICUBIC) -> Image.Image:
    width, height = image.size
    if max(width, height) <= box:
        return image
    if width >= height:
        size = (box, max(1, round(height * box / width)))
    else:
        size = (max(1, round(width * box / height)), box)
    # reducing_gap: a cheap integer box reduction first (when the factor allows),
    # then the resampling filter for the rest
    return image.resize(size, resample, reducing_gap=2.0)


def _flattened(image: Image.Image) -> Image.Image:
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image


def in_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """RGB pixels converted from the upload's colour profile to sRGB, so that the
    variants need no profile (an uploader chooses its bytes, and clients would
    interpret them). A profile that is too large, unreadable, or not an RGB one
    (CMYK, grey) is dropped: the pixels are taken as sRGB."""
    if not icc_profile or image.mode != "RGB" or len(icc_profile) > MAX_ICC_PROFILE_BYTES:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.profileToProfile(image, source, SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        log.info("colour profile not applied (%s): the pixels are taken as sRGB", exc)
        return image


def _encode(image: Image.Image, quality: int) -> Variant:
    # Nothing of the source's metadata travels: resize/transpose copy ``info``
    # (comments, EXIF, the colour profile), so it is cleared; the pixels are sRGB.
    image.info = {}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return Variant(out.getvalue(), image.width, image.height)


def render_variants(data: bytes, *, display_px: int = 1280, thumb_px: int = 320,
                    max_pixels: int = 40_000_000) -> tuple[Variant, Variant]:
    """(display, thumbnail) JPEGs re-encoded from the pixels of ``data``, in sRGB."""
    image = open_image(data, max_pixels)
    with image:
        orientation = _orientation(image)
        icc_profile = image.info.get("icc_profile")
        width, height = image.size
        if image_format(image) == "JPEG" and max(width, height) > display_px:
            # Decode at the smallest DCT scale whose result still covers the display
            # size (a 12 MP photo decodes at 1/2: a quarter of the pixels).
            scale = display_px / max(width, height)
            image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
        try:
            pixels = _normalised(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise image_too_large(max_pixels) from exc
        except Exception as exc:  # noqa: BLE001
            raise ValidationFailed("图片文件不完整或已损坏", code="image_corrupt") from exc
    # After draft mode the display step is a modest downscale (< 2x for phone
    # photos): the Hamming filter (antialiased, support 1) is as sharp as needed and
    # a third cheaper than bicubic. The thumbnail is made from the display variant,
    # after the colour conversion (done once, on 1280 px rather than 12 MP).
    display = _flattened(_fit(pixels, display_px, Image.Resampling.HAMMING))
    if display.mode not in ("RGB", "L"):
        display = display.convert("RGB")
    display = in_srgb(display, icc_profile)
    thumb = _fit(display, thumb_px)
    transpose = _ORIENTATION.get(orientation)
    if transpose is not None:
        # after resizing: turning 1280 px is cheaper than turning 12 MP
        display, thumb = display.transpose(transpose), thumb.transpose(transpose)
    return _encode(display, DISPLAY_QUALITY), _encode(thumb, THUMB_QUALITY)
