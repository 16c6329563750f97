"""Label maps: which annotation descriptions / marker strings are trials of which class.

Written as ``"T1=fists,T2=feet"``: comma-separated ``key=class`` entries. A key is an exact
description (compared after trimming surrounding spaces), or a regular expression written between
slashes, ``"/^stim_neg.*/=negative"``, that matches when :func:`re.search` finds it in the
description. A regular expression may contain commas and ``=`` but not the two characters
``/=`` in a row (that ends it). The class order is the order of first appearance in the text;
several keys may name the same class. The first entry whose key matches decides the class.

Shared by the trainer (annotations and markers of recordings,
``offline_training.recordings``) and the live app (markers of a lab's stimulus program,
``bci_app.lsl.markers.MarkerTracker``), so that a trial means the same thing on both sides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["LabelMap", "parse_label_map"]


@dataclass(frozen=True)
class LabelMap:
    """An ordered mapping from description keys to class names (see the module docstring)."""

    entries: tuple[tuple[str, str], ...]
    """``(key, class)`` pairs in the order given; a key ``"/regex/"`` is a regular expression."""
    _patterns: tuple[re.Pattern[str] | None, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        patterns = []
        for key, cls in self.entries:
            if not key or not cls:
                raise ValueError(f"label map entry {key}={cls}: key and class must be non-empty")
            patterns.append(_compile(key) if _is_regex(key) else None)
        object.__setattr__(self, "_patterns", tuple(patterns))

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in order of first appearance."""
        return tuple(dict.fromkeys(cls for _, cls in self.entries))

    def keys_of(self, cls: str) -> tuple[str, ...]:
        """The keys that map to class ``cls``, in order."""
        return tuple(key for key, c in self.entries if c == cls)

    def match(self, description: str) -> str | None:
        """Class of ``description`` (first matching entry), or None when no key matches."""
        text = description.strip()
        for (key, cls), pattern in zip(self.entries, self._patterns, strict=True):
            if (pattern.search(description) is not None) if pattern else text == key:
                return cls
        return None

    def __str__(self) -> str:
        return ",".join(f"{key}={cls}" for key, cls in self.entries)


def _is_regex(key: str) -> bool:
    return len(key) >= 2 and key.startswith("/") and key.endswith("/")


def _compile(key: str) -> re.Pattern[str]:
    try:
        return re.compile(key[1:-1])
    except re.error as exc:
        raise ValueError(f"label map key {key}: not a valid regular expression ({exc})") from exc


def parse_label_map(text: str) -> LabelMap:
    """Parse ``"T1=fists,T2=feet"`` or ``"/^stim_neg.*/=negative,/^stim_pos.*/=positive"``.

    Args:
        text: comma-separated ``key=class`` entries (spaces around keys and classes ignored).

    Returns:
        The :class:`LabelMap`, entries in the order given.

    Raises:
        ValueError: empty text, an entry without ``=``, an empty key or class, a class name with
            ``=`` or ``/`` in it, an invalid regular expression, or a key given twice; the
            message quotes the entry at fault.
    """
    if not text or not text.strip():
        raise ValueError("label map is empty: expected key=class entries such as 'T1=fists'")
    entries: list[tuple[str, str]] = []
    pos = 0
    while pos <= len(text):
        rest = text[pos:]
        stripped = rest.lstrip()
        start = pos + len(rest) - len(stripped)
        if stripped.startswith("/"):  # a regular expression: up to the first "/" before "="
            close = re.compile(r"/\s*=").search(text, start + 1)
            if close is None:
                raise ValueError(f"label map entry {stripped.split(',')[0]!r}: a regular "
                                 "expression key must be written /regex/=class")
            key = text[start:close.start() + 1]
            value_start = close.end()
        else:
            comma = text.find(",", start)
            entry = text[start:] if comma < 0 else text[start:comma]
            if not entry.strip():
                raise ValueError(f"label map {text!r} has an empty entry (a stray comma?)")
            if "=" not in entry:
                raise ValueError(f"label map entry {entry.strip()!r} has no '=': expected "
                                 "key=class (e.g. 'T1=fists')")
            key = entry.split("=", 1)[0].strip()
            value_start = start + entry.index("=") + 1
        comma = text.find(",", value_start)
        cls = (text[value_start:] if comma < 0 else text[value_start:comma]).strip()
        if not key or not cls:
            raise ValueError(f"label map entry {text[start:comma if comma >= 0 else None]!r}: "
                             "key and class must both be non-empty")
        if "=" in cls or "/" in cls:
            raise ValueError(f"label map entry {key}={cls}: a class name cannot contain '=' or "
                             "'/' (are two entries missing a comma between them?)")
        if any(key == k for k, _ in entries):
            raise ValueError(f"label map key {key!r} is given twice")
        entries.append((key, cls))
        if comma < 0:
            break
        pos = comma + 1
    return LabelMap(tuple(entries))
