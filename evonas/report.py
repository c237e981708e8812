"""What a run hands over to people: its front as a table (text, CSV, JSON, Markdown) and a self-contained
HTML report with the figures embedded."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evonas.checkpoint import RETRAIN_FILE
from evonas.errors import ConfigError
from evonas.history import RunHistory, axis_label

FORMATS = ("table", "csv", "json", "markdown")


def _json_value(cell: str) -> Any:
    """A cell as JSON gives it to programs: numbers as numbers, anything else (and empty cells) as text."""
    try:
        number = float(cell)
    except ValueError:
        return cell
    if not math.isfinite(number):
        return cell
    return int(number) if number.is_integer() and "." not in cell and "e" not in cell.lower() else number


@dataclass(frozen=True)
class Table:
    """Rows of text under a header (numbers already formatted for people)."""

    header: list[str]
    rows: list[list[str]]

    def render(self, fmt: str = "table") -> str:
        """The table as aligned text, CSV, a JSON list of objects, or a Markdown table."""
        if fmt == "table":
            widths = [max([len(h)] + [len(r[i]) for r in self.rows]) for i, h in enumerate(self.header)]
            lines = [self.header, *self.rows]
            return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines) + "\n"
        if fmt == "csv":
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows([self.header, *self.rows])
            return buffer.getvalue()
        if fmt == "json":
            records = [{h: c if h == "arch" else _json_value(c) for h, c in zip(self.header, row)} for row in self.rows]
            return json.dumps(records, indent=1) + "\n"
        if fmt == "markdown":
            lines = [self.header, ["---"] * len(self.header), *self.rows]
            return "\n".join("| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in lines) + "\n"
        raise ConfigError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def front_table(history: RunHistory, sort_by: str | None = None) -> Table:
    """The run's final front: arch, one column per objective, and the generation that found it.

    Sorted best first by ``sort_by`` (an objective name; default the first objective), ties broken by the
    other objectives in order, then by arch.
    """
    names = history.names
    if sort_by is None:
        sort_by = names[0]
    if sort_by not in names:
        raise ConfigError(f"cannot sort by {sort_by!r}; objectives: {', '.join(names)}")
    first = names.index(sort_by)
    order = [first, *(i for i in range(len(names)) if i != first)]
    members = sorted(
        history.front_indices(),
        key=lambda row: (*(history.minimised[row, i] for i in order), history.rows[row].arch),
    )
    rows = [
        [history.rows[i].arch, *(f"{v:.6g}" for v in history.values[i]), str(history.rows[i].generation)] for i in members
    ]
    return Table(["arch", *names, "generation"], rows)


def read_retrain(run_dir: Path) -> Table | None:
    """``retrain.csv`` of a run (written by `evonas retrain`) as a table, or None if there is none."""
    path = Path(run_dir) / RETRAIN_FILE
    if not path.is_file():
        return None
    with open(path, encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return Table(header, rows)


def with_test_accuracy(front: Table, retrained: Table | None) -> Table:
    """``front`` with a ``test_acc`` column from the retraining results (empty where not retrained)."""
    if retrained is None:
        return front
    column = retrained.header.index("test_acc")
    test_acc = {row[1]: f"{float(row[column]):.6g}" for row in retrained.rows}
    return Table([*front.header, "test_acc"], [[*row, test_acc.get(row[0], "")] for row in front.rows])


def _embedded_png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(figure.get_suptitle())}" src="data:image/png;base64,{data}">'


def _configuration_table(history: RunHistory) -> Table:
    rows = [[key, json.dumps(value) if not isinstance(value, str) else value] for key, value in sorted(history.config.items())]
    return Table(["setting", "value"], rows)


STYLE = """
body { font-family: sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; height: auto; display: block; margin: 1rem 0; }
"""


def html_report(history: RunHistory, extra_tables: Sequence[tuple[str, Table]] = ()) -> str:
    """One self-contained HTML page: configuration, fronts, hypervolume curve, front table, ``extra_tables``
    (the retraining results, where the run has them)."""
    from evonas.plotting import fronts_figure, hypervolume_figure

    title = f"evonas run {history.path.name}"
    evaluated = len(history.rows)
    objectives = ", ".join(axis_label(o) for o in history.objectives)
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{evaluated} architectures evaluated in {history.generations} generations; objectives: {html.escape(objectives)}; "
        f"{len(history.front_indices())} on the final front.</p>",
        "<h2>Configuration</h2>",
        _configuration_table(history).html(),
        "<h2>Fronts</h2>",
        _embedded_png(fronts_figure(history)),
        "<h2>Hypervolume</h2>",
        _embedded_png(hypervolume_figure(history)),
        "<h2>Final front</h2>",
        front_table(history).html(),
    ]
    for heading, table in extra_tables:
        sections += [f"<h2>{html.escape(heading)}</h2>", table.html()]
    body = "\n".join(sections)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def write_report(run_dir: Path, out: Path) -> Path:
    """Writes the HTML report of ``run_dir`` to ``out``."""
    from evonas.checkpoint import atomic_write, output_path

    out = output_path(out)
    retrained = read_retrain(run_dir)
    extra = [("Retraining from scratch (test split)", retrained)] if retrained else []
    page = html_report(RunHistory.load(run_dir), extra)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, page)
    return out
