"""The name a source download is saved under follows what the API sends the caller."""

from __future__ import annotations

from ui.components import download_file_name


def test_the_masked_export_is_saved_as_text_and_a_denied_download_has_no_button() -> None:
    assert download_file_name({"download": "original"}, "재택근무규정.pdf") == "재택근무규정.pdf"
    assert download_file_name({"download": "masked"}, "재택근무규정.pdf") == "재택근무규정.masked.txt"
    assert download_file_name({"download": "denied"}, "재택근무규정.pdf") is None
    assert download_file_name(None, "a.hwp") == "a.hwp"  # detail unreadable: the API still decides
