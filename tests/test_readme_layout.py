"""README's layout table names every module and folder of the package, and nothing that is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "flask_loyalty_rewards"
NOT_LISTED = {"__pycache__", "py.typed"}


def layout_paths(readme: str) -> set[Path]:
    """The paths in the first column of the "Layout" table.

    A row's later names are relative to the folder of its first one: in
    ``flask_loyalty_rewards/admin/``, ``cli.py`` the second is ``flask_loyalty_rewards/cli.py``.
    """
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    found = set()
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) < 3 or not cells[1].strip().startswith("`"):
            continue
        names = re.findall(r"`([^`]+)`", cells[1])
        base = (ROOT / names[0].rstrip("/")).parent
        found.add(ROOT / names[0].rstrip("/"))
        found.update(base / name.rstrip("/") for name in names[1:])
    return found


def test_every_path_in_the_layout_table_exists() -> None:
    paths = layout_paths((ROOT / "README.md").read_text(encoding="utf-8"))
    assert sorted(str(p.relative_to(ROOT)) for p in paths if not p.exists()) == []


def test_the_layout_table_names_every_module_and_folder_of_the_package() -> None:
    paths = layout_paths((ROOT / "README.md").read_text(encoding="utf-8"))
    entries = {p for p in PACKAGE.iterdir() if p.name not in NOT_LISTED}
    assert sorted(p.name for p in entries - paths) == []


def test_a_rows_later_names_are_read_in_the_folder_of_its_first() -> None:
    table = "## Layout\n\n| path | what |\n| --- | --- |\n| `pkg/a/`, `b.py` | x |\n"
    assert layout_paths(table) == {ROOT / "pkg/a", ROOT / "pkg/b.py"}
