"""``python -m offline_training``: the same as ``sicleer-train``."""

from offline_training.cli import main

raise SystemExit(main())
