"""The seams of the layout: what each part may import, and one set of defaults."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT


def _imports(path: Path) -> set[str]:
    """Top-level module names imported anywhere in ``path`` (absolute imports)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_live_app_imports_nothing_from_the_trainer() -> None:
    """Only the replay tool may read SEED files through offline_training.seed."""
    offenders = []
    for path in sorted((REPO_ROOT / "bci_app").rglob("*.py")):
        relative = path.relative_to(REPO_ROOT)
        allowed = {"offline_training.seed"} if relative.parts[1] == "replay" else set()
        if relative.name == "demo.py":  # generates the demo recording with sicleer-synth
            allowed = {"offline_training.seed", "offline_training.synth"}
        bad = {m for m in _imports(path) if m.split(".")[0] == "offline_training"} - allowed
        if bad:
            offenders.append(f"{relative}: {sorted(bad)}")
    assert not offenders, offenders


def test_models_import_nothing_from_the_programs() -> None:
    for path in sorted((REPO_ROOT / "models").rglob("*.py")):
        bad = {m for m in _imports(path) if m.split(".")[0] in ("bci_app", "offline_training")}
        assert not bad, f"{path.relative_to(REPO_ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("code", [
    "from bci_app.cli import main; main(['--help'])",
    "from bci_app.cli import main; main(['--list-streams', '--resolve-timeout', '0.5'])",
    "from bci_app.replay.cli import main; main(['--help'])",
    "import bci_app.engine.state, bci_app.engine.contract, models.eeg.montage, models.metadata",
])
def test_light_commands_load_no_torch(code: str) -> None:
    """``bci-app --help``, ``--list-streams`` and ``bci-replay --help`` never import torch."""
    probe = ("import sys\ntry:\n    " + code + "\nexcept SystemExit:\n    pass\n"
             "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60, cwd=REPO_ROOT,
                   env=dict(os.environ), capture_output=True)


def test_command_line_defaults_are_the_dataclass_defaults() -> None:
    from bci_app.cli import build_parser as app_parser
    from bci_app.engine.config import EngineConfig
    from bci_app.signal.filters import make_live_filter
    from models.preprocessing import FilterSpec
    from offline_training.cli import build_parser as train_parser
    from offline_training.config import TrainConfig

    engine = EngineConfig()
    args = app_parser().parse_args([])
    for name in ("model", "hop", "smoothing", "notch", "l_freq", "h_freq", "filter_order",
                 "device", "outlet_name", "resolve_timeout"):
        assert getattr(args, name) == getattr(engine, name), name
    spec = FilterSpec()
    # filter options default to the model file's chain; a model without one gets FilterSpec's
    assert engine.resolve_filters(None).spec == spec
    assert engine.resolve_filters(FilterSpec(8.0, 30.0, None, 2)).spec == FilterSpec(8.0, 30.0,
                                                                                     None, 2)
    params = inspect.signature(make_live_filter).parameters
    for name in ("l_freq", "h_freq", "notch", "order", "notch_q"):
        assert params[name].default == getattr(spec, name), name
    train_args = vars(train_parser().parse_args(["--data", "d", "--out", "o"]))
    for f in fields(TrainConfig):
        if f.name in train_args and f.name not in ("data", "out"):
            assert train_args[f.name] == f.default, f.name
