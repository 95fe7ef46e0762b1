"""Errors a person can act on, in Korean and English."""

from __future__ import annotations


class IngestError(Exception):
    """A file could not be ingested; ``code`` is stable, the messages are for people."""

    def __init__(self, code: str, message_ko: str, message_en: str) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_ko = message_ko
        self.message_en = message_en

    def __reduce__(self) -> tuple[type[IngestError], tuple[str, str, str]]:
        # Errors cross process boundaries (sandboxed parsing): rebuild from the three fields.
        return (self.__class__, (self.code, self.message_ko, self.message_en))

    def __str__(self) -> str:
        return f"{self.message_ko} / {self.message_en}"


class UnsupportedFormatError(IngestError):
    """The detected file type has no parser."""


class ParseError(IngestError):
    """The file claims a format but its content cannot be read as that format."""


class EncryptedDocumentError(IngestError):
    """The document is encrypted or DRM-protected (e.g. a distribution HWP)."""


class LimitExceededError(IngestError):
    """The file breaks a configured limit (size, pages, decompressed bytes)."""


class NoTextError(IngestError):
    """The file was read but holds no extractable text (e.g. a scanned PDF)."""
