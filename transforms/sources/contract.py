"""Our own contract: files already named and shaped as schemas/inputs.py declares are read as they are.

Nothing to map; this module exists so that every source has one place (see transforms/sources/__init__.py).
"""
from __future__ import annotations

from pathlib import Path


def files(paths: dict[str, Path]) -> dict[str, Path]:
    """Contract files are their own mapping: table name -> file, unchanged."""
    return dict(paths)
