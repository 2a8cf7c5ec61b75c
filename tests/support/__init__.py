"""What the tests share: test data, named people, fake servers, waiting.

Test modules import from here (and take fixtures from conftest.py files),
never from one another: `make lint` checks it (scripts/check_test_imports.py).
See tests/README.md for the map.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
