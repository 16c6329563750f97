"""``python -m offline_training``: the same as ``sicleer-train`` (also under ``torchrun``:
``torchrun --nproc-per-node N -m offline_training ...``)."""

from offline_training.cli import main

if __name__ == "__main__":  # not when a fold process imports it
    raise SystemExit(main())
