"""Plain-text result tables."""

from __future__ import annotations


def markdown_table(rows: list[dict], digits: int = 3) -> str:
    """A GitHub markdown table of `rows` (all with the same keys); floats get `digits` decimals."""
    columns = list(rows[0])

    def cell(value) -> str:
        if value is None:
            return "—"
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row[column]) for column in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"
