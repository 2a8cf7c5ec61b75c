"""`make lint`'s test-import check: no test module imports another test module.

What tests share lives in ``tests/support/`` (factories, personas, fake
servers, waiting) and their fixtures in ``conftest.py`` files, which pytest
finds without an import. A test that imports another test module runs that
module's import-time code, drags its fixtures along, and breaks when the
other file is renamed or split; put the shared piece in tests/support/.

Flagged, in every Python file under ``tests/``: ``import tests.x`` and
``from tests.x import …`` (relative imports too) where ``tests.x`` is neither
``tests.support`` (or below) nor ``tests.settings``, including conftest
modules; and a string naming another test module or its attribute (an email
backend given by its dotted path), which Django would import the same way. Run from
the repository's root: ``python scripts/check_test_imports.py``; exits 1 and
lists every offender.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

TESTS = "tests"
SHARED = ("tests.support", "tests.settings")  # what any test may import
DOTTED = re.compile(r"^tests(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def module_name(relative: str) -> str:
    parts = relative.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The module a ``from … import`` reads, with relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def is_shared(module: str) -> bool:
    return module == TESTS or any(module == shared or module.startswith(shared + ".") for shared in SHARED)


def is_test_code(module: str) -> bool:
    return module == TESTS or module.startswith(TESTS + ".")


def names_a_module(root: Path, dotted: str) -> bool:
    """Whether ``dotted`` (or a prefix of it, the rest being attributes) is a module under ``root``."""
    parts = dotted.split(".")
    for end in range(len(parts), 1, -1):
        path = root.joinpath(*parts[:end])
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return True
    return False


def is_dotted_reference(node: ast.AST, root: Path) -> bool:
    """A string naming a test module (or its attribute), not a plain key that happens to look dotted."""
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(DOTTED.match(node.value))
        and names_a_module(root, node.value)
    )


def imported(tree: ast.AST, importer: str, is_package: bool, root: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every module of the tests package this file imports or names."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            source = absolute(node, importer, is_package)
            if source == TESTS:  # "from tests import support" names a module
                for alias in node.names:
                    yield node.lineno, f"{TESTS}.{alias.name}"
            else:
                yield node.lineno, source
        elif is_dotted_reference(node, root):
            yield node.lineno, str(node.value)  # type: ignore[attr-defined]


def offences(tree: ast.AST, importer: str, is_package: bool, root: Path) -> Iterator[tuple[int, str]]:
    for line, module in imported(tree, importer, is_package, root):
        own = module == importer or module.startswith(importer + ".")  # a urlconf naming itself
        if is_test_code(module) and not is_shared(module) and not own:
            yield line, module


def problems(root: Path) -> list[str]:
    messages: list[str] = []
    for path in sorted((root / TESTS).rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
        for line, module in offences(tree, module_name(relative), path.name == "__init__.py", root):
            messages.append(f"{relative}:{line}: imports the test module {module}")
    return messages


def main() -> int:
    messages = problems(Path.cwd())
    for message in messages:
        print(message)
    if messages:
        print("\nMove what both tests need into tests/support/ (or a fixture into a conftest.py) and import it there.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
