"""Page cleaning before OCR (ingest.ocr_preprocess) on synthetic pages: no fonts, no Tesseract."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ingest.document import ParseLimits
from ingest.ocr_preprocess import (
    DEFAULT_STEPS,
    STEPS,
    binarise,
    denoise,
    flatten,
    otsu_threshold,
    preprocess,
    resample,
    skew_angle,
    speckle_share,
)


def ruled_page(skew: float = 0.0, size: tuple[int, int] = (1240, 1754)) -> Image.Image:
    """A page of dark 'text lines' (bars broken into word-like pieces), rotated ``skew`` degrees."""
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    for top in range(150, size[1] - 150, 60):
        for left in range(120, size[0] - 200, 110):
            draw.rectangle((left, top, left + 90, top + 22), fill=20)
    return page.rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor=255) if skew else page


@pytest.mark.parametrize("skew", [3.0, -3.0, 1.5, -4.2])
def test_skew_angle_undoes_the_rotation(skew: float) -> None:
    assert skew_angle(ruled_page(skew)) == pytest.approx(-skew, abs=0.25)


def test_a_straight_page_and_a_blank_one_are_left_alone() -> None:
    assert abs(skew_angle(ruled_page())) < 0.2
    assert skew_angle(Image.new("L", (800, 1000), 255)) == 0.0


def test_deskew_straightens_the_page() -> None:
    cleaned, dpi = preprocess(ruled_page(3.0), 300, ["deskew"])
    assert dpi == 300
    assert abs(skew_angle(cleaned)) < 0.25
    assert cleaned.size != (1240, 1754)  # rotated with its corners kept (expand)


def test_denoise_removes_speckle_and_keeps_strokes() -> None:
    page = np.asarray(ruled_page(), dtype=np.uint8).copy()
    rng = np.random.default_rng(7)
    speckle = (rng.random(page.shape) < 0.01) & (page == 255)
    page[speckle] = 0
    cleaned = np.asarray(denoise(Image.fromarray(page)))
    assert (cleaned[speckle] > 128).mean() > 0.99  # the dots on paper are gone
    assert (cleaned[150:172, 125:205] < 128).all()  # a bar's inside stays ink


def test_denoise_leaves_a_clean_page_alone() -> None:
    page = Image.new("L", (600, 400), 255)
    draw = ImageDraw.Draw(page)
    for top in range(20, 380, 12):  # hairlines one pixel thick, which a median filter would erase
        draw.line((20, top, 580, top + 3), fill=0, width=1)
    assert speckle_share(page) < 0.0005
    assert denoise(page) is page


def test_flatten_evens_out_light_so_one_threshold_separates_ink_from_paper() -> None:
    page = np.asarray(ruled_page(), dtype=np.float64)
    light = np.linspace(0.75, 1.0, page.shape[1])[np.newaxis, :]  # darker to the left, like a photo
    lit = (page * light).astype(np.uint8)
    paper = page == 255
    even = np.asarray(flatten(Image.fromarray(lit)))
    threshold = otsu_threshold(even)
    assert (even[paper] > threshold).mean() > 0.999 and (even[page < 128] <= threshold).mean() > 0.99
    clean = ruled_page()
    assert np.abs(np.asarray(flatten(clean), dtype=int) - np.asarray(clean, dtype=int)).max() <= 2


def test_resample_brings_low_and_high_resolutions_to_about_300_dpi() -> None:
    page = Image.new("L", (620, 877), 255)  # A4 at 75 dpi
    enlarged, dpi = resample(page, 150, max_pixels=60_000_000)
    assert (enlarged.size, dpi) == ((1240, 1754), 300)
    reduced, dpi = resample(page, 600, max_pixels=60_000_000)
    assert (reduced.size, dpi) == ((310, 438), 300)
    assert resample(page, 300, max_pixels=60_000_000) == (page, 300)
    capped, dpi = resample(page, 100, max_pixels=1_000_000)  # never past the pixel limit
    assert capped.width * capped.height <= 1_000_000 and dpi < 300


def test_binarise_is_black_and_white_at_otsu() -> None:
    pixels = np.array([[30, 40, 200, 220]] * 4, dtype=np.uint8)
    assert 40 <= otsu_threshold(pixels) < 200
    assert set(np.unique(np.asarray(binarise(Image.fromarray(pixels))))) == {0, 255}


def test_unknown_steps_are_refused_and_defaults_agree() -> None:
    with pytest.raises(ValueError, match="sharpen"):
        preprocess(ruled_page(), 300, ["sharpen"])
    assert set(DEFAULT_STEPS) <= set(STEPS)
    assert ParseLimits().ocr_preprocess == DEFAULT_STEPS
    untouched, dpi = preprocess(ruled_page(), 300, ["orient"])  # left to ingest.ocr
    assert dpi == 300 and untouched.size == (1240, 1754)
