"""Cleaning a page image before Tesseract reads it: what matters for Korean scans.

Steps, each chosen by name so that ``bench.ocr --steps`` can measure it alone:

- ``flatten``: uneven lighting evened out (a photographed page, a shadow along a book's spine): the
  paper's brightness is estimated on a reduced copy (the brightest pixel around each point, then
  smoothed) and every pixel divided by it. Without it one global threshold, Tesseract's own
  included, turns the darker half of such a page black;
- ``denoise``: a 3×3 median filter, which removes a scanner's speckle and JPEG ringing around
  strokes (isolated dots otherwise become stray jamo and break numbers apart), applied only to a
  page that has speckle: on a clean page it only thins strokes (at 100 dpi it cost a serif page a
  quarter of its characters);
- ``resample``: resolution normalised to about 300 dpi: low-resolution scans are enlarged, very
  fine ones reduced, never past the pixel limit. Not on by default: it measured neutral at 150 dpi
  and harmful at 100 dpi (Tesseract scales small text well itself);
- ``deskew``: the skew angle (up to ±:data:`MAX_SKEW` degrees) found by projection profiles:
  the ink is rotated in small steps on a reduced copy, and the angle whose row sums change most
  sharply (text lines horizontal) wins; the page is then rotated back;
- ``unrule``: a table's ruling lines removed (runs of ink at least :data:`RULE_INCHES` long, across
  or down the page, turned to paper). Tesseract reading a page as one block of text drops the
  text inside ruled cells altogether; without the rules the cells read like a table without
  rules, which :mod:`ingest.ocr_tables` keeps as a table. Text strokes are far shorter, so a page
  without rules is left as it is;
- ``binarise``: Otsu's global threshold (Tesseract also thresholds internally, so this is offered
  for measurement rather than on by default);
- ``orient``: pages scanned sideways or upside down. Not applied here: Tesseract's orientation
  detection costs more than reading the page, so :func:`ingest.ocr.recognise_oriented` asks for it
  only when the first reading of a page comes out poor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL.Image import Image

STEPS = ("flatten", "denoise", "resample", "deskew", "unrule", "binarise", "orient")
DEFAULT_STEPS = ("flatten", "denoise", "deskew", "unrule", "orient")
TARGET_DPI = 300
MIN_DPI, MAX_DPI = 250, 450  # resolutions Tesseract reads well as they are
MAX_SKEW = 5.0
_PROFILE_SIDE = 1000  # the long side, in pixels, of the reduced copy the skew is measured on
_MIN_CORRECTION = 0.2  # degrees: smaller angles are left alone (rotation blurs a little)
RULE_INCHES = 0.6  # a straight run of ink at least this long is a ruling line, not a stroke
_SPECKLE_SHARE = 0.0005  # isolated dark dots on paper, as a share of all pixels, that call for denoise


def preprocess(
    image: Image, dpi: int, steps: Iterable[str] = DEFAULT_STEPS, max_pixels: int = 60_000_000
) -> tuple[Image, int]:
    """The grayscale page ``image`` at ``dpi`` cleaned by ``steps``, and its new resolution.

    ``orient`` among ``steps`` is accepted and left to :mod:`ingest.ocr` (see above).
    """
    wanted = set(steps)
    unknown = wanted - set(STEPS)
    if unknown:
        raise ValueError(f"unknown OCR preprocessing steps: {sorted(unknown)}")
    if "flatten" in wanted:
        image = flatten(image)
    if "denoise" in wanted:
        image = denoise(image)
    if "resample" in wanted:
        image, dpi = resample(image, dpi, max_pixels)
    if "deskew" in wanted:
        angle = skew_angle(image)
        if abs(angle) >= _MIN_CORRECTION:
            image = rotate(image, angle)
    if "unrule" in wanted:
        image = unrule(image, dpi)
    if "binarise" in wanted:
        image = binarise(image)
    return image, dpi


def unrule(image: Image, dpi: int) -> Image:
    """``image`` with its ruling lines (straight ink runs of :data:`RULE_INCHES` or more) made paper."""
    from PIL import Image as PilImage

    pixels = np.asarray(image.convert("L"))
    ink = pixels <= otsu_threshold(pixels)
    length = max(20, round(dpi * RULE_INCHES))
    rules = _long_runs(ink, length) | _long_runs(ink.T, length).T
    if not rules.any():
        return image
    cleaned = pixels.copy()
    cleaned[rules] = 255
    return PilImage.fromarray(cleaned)


def _long_runs(ink: np.ndarray, length: int, rows: int = 256) -> np.ndarray:
    """The pixels of ``ink`` (bool) lying on a horizontal run of at least ``length`` ink pixels.

    Worked in bands of ``rows`` rows, so a 60-megapixel page needs a few small arrays at a time.
    """
    found = np.zeros_like(ink)
    width = ink.shape[1]
    if width < length:
        return found
    columns = np.arange(width)
    for top in range(0, ink.shape[0], rows):
        band = ink[top : top + rows]
        counts = np.zeros((band.shape[0], width + 1), dtype=np.int32)
        np.cumsum(band, axis=1, out=counts[:, 1:])
        full = (counts[:, length:] - counts[:, :-length]) == length  # the run from x on is all ink
        starts = np.zeros((band.shape[0], width + 1), dtype=np.int32)
        np.cumsum(full, axis=1, out=starts[:, 1 : full.shape[1] + 1])
        starts[:, full.shape[1] + 1 :] = starts[:, full.shape[1] : full.shape[1] + 1]
        first = np.maximum(columns - length + 1, 0)
        found[top : top + rows] = starts[:, columns + 1] > starts[:, first]  # a full run starts in reach
    return found


def flatten(image: Image) -> Image:
    """``image`` divided by its estimated paper brightness, so the paper is white everywhere.

    The paper is estimated at 1/8 scale: the brightest pixel within 7 (56 full-size pixels, wider
    than a 12 pt glyph at 300 dpi) and a blur, then enlarged back. A page already evenly lit is
    left as it is (the estimate is white everywhere).
    """
    from PIL import Image as PilImage
    from PIL import ImageFilter

    small = image.resize((max(1, image.width // 8), max(1, image.height // 8)), PilImage.Resampling.BOX)
    paper = small.filter(ImageFilter.MaxFilter(7)).filter(ImageFilter.GaussianBlur(4))
    gain = np.asarray(paper.resize(image.size, PilImage.Resampling.BILINEAR), dtype=np.float32)
    np.maximum(gain, 1.0, out=gain)
    np.divide(255.0, gain, out=gain)  # in place: a 60-Mpx page costs two float arrays, not four
    np.multiply(gain, np.asarray(image, dtype=np.uint8), out=gain)
    np.clip(gain, 0, 255, out=gain)
    return PilImage.fromarray(gain.astype(np.uint8))


def denoise(image: Image) -> Image:
    """``image`` through a 3×3 median filter when it is speckled (:func:`speckle_share`), else as it is."""
    from PIL import ImageFilter

    if speckle_share(image) < _SPECKLE_SHARE:
        return image
    return image.filter(ImageFilter.MedianFilter(3))


def speckle_share(image: Image) -> float:
    """The share of pixels that are isolated dark dots: dark, with no dark pixel among their eight
    neighbours. A stroke, however thin, continues into its neighbours; speckle does not (measured:
    clean pages at 100-300 dpi ≤ 0.00002, the benchmark's speckled JPEGs 0.0024)."""
    dark = np.asarray(image) < 128
    padded = np.pad(dark, 1).astype(np.uint8)
    height, width = dark.shape
    neighbours = np.zeros(dark.shape, dtype=np.uint8)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy != 1 or dx != 1:
                neighbours += padded[dy : dy + height, dx : dx + width]
    return float((dark & (neighbours == 0)).mean())


def resample(image: Image, dpi: int, max_pixels: int) -> tuple[Image, int]:
    """``image`` brought to about :data:`TARGET_DPI` when its ``dpi`` is outside 250-450."""
    if MIN_DPI <= dpi <= MAX_DPI or dpi <= 0:
        return image, dpi
    from PIL import Image as PilImage

    scale = TARGET_DPI / dpi
    pixels = image.width * image.height * scale * scale
    if pixels > max_pixels:
        scale = (max_pixels / max(image.width * image.height, 1)) ** 0.5
    if abs(scale - 1) < 0.05:
        return image, dpi
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, PilImage.Resampling.LANCZOS), round(dpi * scale)


def otsu_threshold(pixels: np.ndarray) -> int:
    """Otsu's threshold of 8-bit ``pixels``: the grey level that best separates ink from paper."""
    histogram = np.bincount(pixels.ravel(), minlength=256).astype(np.float64)
    below = np.cumsum(histogram)
    mass = np.cumsum(histogram * np.arange(256))
    total, total_mass = below[-1], mass[-1]
    above = total - below
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mass * below - mass * total) ** 2 / (below * above)
    between[~np.isfinite(between)] = 0.0
    return int(np.argmax(between))


def binarise(image: Image) -> Image:
    """``image`` in black and white at its Otsu threshold."""
    from PIL import Image as PilImage

    pixels = np.asarray(image.convert("L"))
    threshold = otsu_threshold(pixels)
    return PilImage.fromarray(np.where(pixels <= threshold, 0, 255).astype(np.uint8))


def skew_angle(image: Image) -> float:
    """The angle (degrees, counter-clockwise) that makes the text lines of ``image`` horizontal.

    0.0 for a page without enough ink to tell. Searched in 0.5° steps over ±:data:`MAX_SKEW`,
    then in 0.1° steps around the best.
    """
    from PIL import Image as PilImage

    scale = min(1.0, _PROFILE_SIDE / max(image.width, image.height))
    small = image.convert("L")
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        small = small.resize(size, PilImage.Resampling.BILINEAR)
    pixels = np.asarray(small)
    ink = pixels <= otsu_threshold(pixels)
    if ink.mean() < 0.002 or ink.mean() > 0.5:  # blank, or a photo rather than text
        return 0.0
    mask = PilImage.fromarray(ink.astype(np.uint8) * 255)

    def sharpness(angle: float) -> float:
        rotated = mask.rotate(angle, resample=PilImage.Resampling.NEAREST, fillcolor=0)
        rows = np.asarray(rotated, dtype=np.float64).sum(axis=1)
        return float(np.square(np.diff(rows)).sum())

    coarse = max(np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.5), key=sharpness)
    fine = max(np.arange(coarse - 0.4, coarse + 0.41, 0.1), key=sharpness)
    return round(float(fine), 1)


def rotate(image: Image, angle: float) -> Image:
    """``image`` rotated ``angle`` degrees counter-clockwise, the corners filled with paper white."""
    from PIL import Image as PilImage

    return image.rotate(angle, resample=PilImage.Resampling.BICUBIC, expand=True, fillcolor=255)
