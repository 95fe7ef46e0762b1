"""Errors a caller can cause, with a status code and a Korean and an English message."""

from __future__ import annotations


class AppError(Exception):
    """An error a client caused or must know about (rendered as problem+json by the API)."""

    def __init__(
        self,
        status: int,
        code: str,
        message_ko: str,
        message_en: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message_en)
        self.status, self.code, self.message_ko, self.message_en = status, code, message_ko, message_en
        self.headers = headers


def object_particle(word: str) -> str:
    """을 after a Hangul syllable with a final consonant, 를 after one without; both forms otherwise."""
    last = word[-1:] or " "
    if not "가" <= last <= "힣":
        return "을(를)"
    return "을" if (ord(last) - ord("가")) % 28 else "를"


def not_found(what_ko: str = "대상", what_en: str = "resource") -> AppError:
    """The one 404 for both "does not exist" and "you may not see it" (no existence leaks)."""
    message_ko = f"{what_ko}{object_particle(what_ko)} 찾을 수 없습니다."
    return AppError(404, "not_found", message_ko, f"The {what_en} was not found.")


def forbidden() -> AppError:
    """The caller is known but lacks the right (used only where existence is not secret)."""
    return AppError(403, "forbidden", "이 작업을 할 권한이 없습니다.", "You are not allowed to do this.")


def conflict(message_ko: str, message_en: str) -> AppError:
    """The request clashes with the current state (e.g. a name already taken)."""
    return AppError(409, "conflict", message_ko, message_en)


def invalid(message_ko: str, message_en: str) -> AppError:
    """A well-formed request that asks for something impossible."""
    return AppError(422, "invalid_request", message_ko, message_en)
