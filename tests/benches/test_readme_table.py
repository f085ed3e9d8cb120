"""The README's performance table is the generator's (benches/readme_table.py) output:
markers, the interpreter it was measured on, the generator's columns and rows. Whether
the numbers are current is not checked: they come from a benchmark run."""

from __future__ import annotations

from pathlib import Path

import pytest

from benches import readme_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_in_the_generators_format() -> None:
    block = readme_table.table_block(README.read_text())
    table = readme_table.parse(block)
    assert readme_table.render(table) == block, "regenerating what was parsed changes it"
    assert list(table.cells) == list(readme_table.ROWS)
    assert all(len(cells) == len(readme_table.COLUMNS) for cells in table.cells.values())
    assert table.interpreter.startswith(("CPython 3.", "PyPy 3."))


def test_a_hand_edited_table_is_refused() -> None:
    block = readme_table.table_block(README.read_text())
    with pytest.raises(ValueError, match="unexpected header"):
        readme_table.parse(block.replace("| vumeter |", "| ours |", 1))


def test_the_generator_runs_and_rewrites_only_its_table(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{readme_table.BEGIN}\nold\n{readme_table.END}\n\nafter\n")
    assert readme_table.main(["--quick", "--write", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# title\n\n")
    assert text.endswith("\n\nafter\n")
    table = readme_table.parse(readme_table.table_block(text))
    assert "quick run" in table.interpreter
    assert table.cells["`Counter.inc()`"][0].endswith("ns")
