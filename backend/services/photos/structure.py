"""Where an image ends, and the scans of a JPEG, from the bytes alone (no decoding).

Bytes after the end of the image (a JPEG's EOI marker, PNG's IEND chunk, the RIFF
size of a WebP) are accepted and stripped: phones append data there (Google and
Samsung motion photos put a video after the JPEG), and the stored original ends
where the image ends.
"""
from __future__ import annotations

from dataclasses import dataclass


def image_end(fmt: str, data: bytes) -> int | None:
    """Offset just past the image in ``data`` (anything after it is trailing data),
    or None when the structure is not understood (then nothing is stripped)."""
    finder = {"JPEG": jpeg_end, "PNG": png_end, "WEBP": webp_end}.get(fmt)
    return finder(data) if finder else None


def jpeg_end(data: bytes) -> int | None:
    """Walk the JPEG's segments (skipping their payloads, so EXIF thumbnails with
    their own EOI are not mistaken for the end) and entropy-coded scans to EOI."""
    return _jpeg_walk(data)[0]


@dataclass(frozen=True)
class JpegScan:
    header: int  # where its SOS marker is
    start: int  # its entropy-coded data: data[start:end]
    end: int
    has_dc: bool  # its spectral selection starts at the DC coefficient (Ss = 0)
    restart_interval: int  # MCUs per restart interval (DRI), 0 for none
    restarts: int  # restart markers in the data


def jpeg_scans(data: bytes) -> list[JpegScan]:
    """The scans up to EOI ([] if the structure is not understood)."""
    end, scans = _jpeg_walk(data)
    return scans if end is not None else []


def _jpeg_walk(data: bytes) -> tuple[int | None, list[JpegScan]]:
    """(offset just past EOI or None, the scans)."""
    scans: list[JpegScan] = []
    n = len(data)
    if n < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return None, scans
    pos, interval = 2, 0
    while pos < n:
        if data[pos] != 0xFF:
            return None, scans
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            return None, scans
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            return pos, scans
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no payload
            continue
        if pos + 2 > n:
            return None, scans
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2:
            return None, scans
        if marker == 0xDD and length == 4 and pos + 4 <= n:  # DRI: restart interval
            interval = int.from_bytes(data[pos + 2:pos + 4], "big")
        header = pos - 2
        pos += length
        if marker == 0xDA:  # start of scan: skip entropy-coded data
            # SOS: length, Ns, Ns × (component, tables), Ss, Se, Ah/Al
            spectral_start = pos - 3
            has_dc = header + 4 < spectral_start < n and data[spectral_start] == 0
            start, restarts = pos, 0
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0:
                    return None, scans
                after = pos + 1
                while after < n and data[after] == 0xFF:  # fill bytes
                    after += 1
                if after >= n:
                    return None, scans
                following = data[after]
                if following == 0x00:  # stuffed byte
                    pos = after + 1
                elif 0xD0 <= following <= 0xD7:  # restart marker
                    pos, restarts = after + 1, restarts + 1
                else:
                    break  # a real marker (after any fill): back to the segment walk
            scans.append(JpegScan(header, start, pos, has_dc, interval, restarts))
    return None, scans


def png_end(data: bytes) -> int | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos, n = 8, len(data)
    while pos + 8 <= n:
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos if pos <= n else None
    return None


def webp_end(data: bytes) -> int | None:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    end = 8 + int.from_bytes(data[4:8], "little")
    end += end % 2  # RIFF chunks are padded to even length
    return end if end <= len(data) else None
