"""Compile every locale/*/LC_MESSAGES/*.po into its .mo with polib.

Django's compilemessages needs GNU gettext's msgfmt, which a fresh machine
with only Python and make does not have.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    compiled = 0
    for po_path in sorted(ROOT.glob("locale/*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        po = polib.pofile(str(po_path))
        po.save_as_mofile(str(mo_path))
        compiled += 1
    if compiled:
        print(f"compiled {compiled} translation file(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
