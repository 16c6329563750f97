"""Words that follow their numbers in the project's messages and reports."""

from __future__ import annotations

__all__ = ["count", "plural"]


def plural(n: int, word: str, many: str | None = None) -> str:
    """``word`` for ``n == 1``, else its plural (``many``, default ``word + "s"``)."""
    return word if n == 1 else (many or f"{word}s")


def count(n: int, word: str, many: str | None = None) -> str:
    """``"1 fold"``, ``"3 folds"``, ``"0 folds"``."""
    return f"{n} {plural(n, word, many)}"
