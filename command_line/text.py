"""Words in messages: counts with the right noun form."""

from __future__ import annotations


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """``1 camera``, ``2 cameras``; ``plural_noun`` for irregular nouns."""
    return f"{count} {noun if count == 1 else (plural_noun or noun + 's')}"
