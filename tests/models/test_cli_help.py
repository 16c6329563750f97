"""Every command's --help: each default shown once, none for flags or None."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("module", ["offline_training.cli", "bci_app.cli", "bci_app.replay.cli",
                                    "offline_training.predict_cli",
                                    "offline_training.synth_cli"])
def test_help_shows_each_default_once_and_only_where_it_means_something(module: str) -> None:
    import importlib

    parser = importlib.import_module(module).build_parser()
    text = " ".join(parser.format_help().split())  # unwrapped
    assert "(default: None)" not in text and "(default: )" not in text
    assert "(default: True)" not in text and "(default: False)" not in text
    for action in parser._actions:
        if action.help and action.option_strings:
            help_text = " ".join(parser._get_formatter()._expand_help(action).split())
            assert len(re.findall(r"default", help_text)) <= 1 or "%(default)" in (
                action.help or ""), (action.option_strings, help_text)
    undocumented = [a.option_strings[0] for a in parser._actions
                    if a.option_strings and not a.help]
    assert not undocumented, f"options without help: {undocumented}"
