"""The help formatter of every command: defaults shown once, and only where they say something."""

from __future__ import annotations

import argparse

__all__ = ["DefaultsFormatter"]


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``(default: X)`` after an option's help, except when the help already states its
    default, the default is None (nothing to show), or the option is a flag (``--no-mask``
    would read "default: True", which says the opposite of what the flag does)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        flag = isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction
                          | argparse._HelpAction | argparse._StoreConstAction)
        if (flag or action.default in (None, "") or action.default is argparse.SUPPRESS
                or "%(default)" in text or "default:" in text or "(default" in text):
            return text
        return super()._get_help_string(action)
