"""The table evaluator: looks architectures up in a benchmark table (NAS-Bench-201, NAS-Bench-Macro, ...)."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from evonas.errors import ArchitectureError, ConfigError, TableError
from evonas.evaluators.base import Candidate, Evaluation, Evaluator
from evonas.spaces.base import SearchSpace


def read_table(path: Path, space: SearchSpace, columns: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """Canonical arch string -> the values of ``columns``, from a CSV with an ``arch`` column.

    Raises `TableError` naming the file and the row or column at fault: a file that is missing or not
    UTF-8 CSV text, a missing column, an arch that is empty, not of ``space`` or listed twice, a value
    that is not a finite number (NaN and infinity are refused at load rather than measured).
    """
    path = Path(path)
    try:
        handle = open(path, encoding="utf-8", newline="")
    except OSError as error:
        raise TableError(f"cannot read table {path}: {error.strerror}") from None
    try:
        with handle:
            rows = _read_rows(path, csv.reader(handle), space, columns)
    except UnicodeDecodeError:
        raise TableError(f"table {path} is not a CSV text file (it holds bytes that are not UTF-8)") from None
    except csv.Error as error:
        raise TableError(f"table {path} is not a readable CSV: {error}") from None
    if not rows:
        raise TableError(f"table {path} has no rows")
    return rows


def _read_rows(path: Path, reader: Iterator[list[str]], space: SearchSpace, columns: Sequence[str]) -> dict[str, tuple[float, ...]]:
    header = [h.strip() for h in next(reader, [])]
    if "arch" not in header:
        raise TableError(f"table {path} has no 'arch' column (columns: {', '.join(header) or 'none'})")
    missing = [c for c in columns if c not in header]
    if missing:
        raise TableError(f"table {path} has no column {', '.join(map(repr, missing))} (columns: {', '.join(header)})")
    arch_at = header.index("arch")
    positions = [header.index(c) for c in columns]
    rows: dict[str, tuple[float, ...]] = {}
    first_row: dict[str, int] = {}
    for row_number, fields in enumerate(reader, start=2):
        if not fields:
            continue
        if len(fields) != len(header):
            raise TableError(f"table {path}, line {row_number}: {len(fields)} fields, header has {len(header)}")
        text = fields[arch_at].strip()
        if not text:
            raise TableError(f"table {path}, line {row_number}: empty arch")
        try:
            arch = space.encode(space.decode(text))
        except ArchitectureError as error:
            raise TableError(f"table {path}, line {row_number}: {error}") from None
        if arch in rows:
            raise TableError(f"table {path}, line {row_number}: arch {arch} is listed already on line {first_row[arch]}")
        values = []
        for column, position in zip(columns, positions):
            try:
                value = float(fields[position])
            except ValueError:
                raise TableError(
                    f"table {path}, line {row_number}, column {column!r}: {fields[position]!r} is not a number"
                ) from None
            if not math.isfinite(value):
                kind = "NaN" if math.isnan(value) else "infinite"
                raise TableError(f"table {path}, line {row_number}, column {column!r}: value is {kind}; a table's values must be finite")
            values.append(value)
        rows[arch] = tuple(values)
        first_row[arch] = row_number
    return rows


class TableEvaluator(Evaluator):
    """Looks each candidate up in a table; every metric source is a column name.

    Args:
        table: path of a CSV whose ``arch`` column holds the space's canonical strings.
    """

    name = "table"
    description = "look architectures up in a benchmark table (--table CSV); objectives map to columns"

    def __init__(
        self, *, space: SearchSpace, sources: Mapping[str, str], state_dir: Path | None = None, seed: int = 0, table: str | None = None
    ) -> None:
        super().__init__(space=space, sources=sources, state_dir=state_dir, seed=seed)
        if not table:
            raise ConfigError("the table evaluator needs --table PATH")
        self.table = Path(table)
        self.columns = list(dict.fromkeys(self.sources.values()))
        self.rows = read_table(self.table, space, self.columns)

    def evaluate(self, candidates: Sequence[Candidate]) -> Iterator[Evaluation]:
        for candidate in candidates:
            values = self.rows.get(candidate.arch)
            if values is None:
                raise TableError(f"architecture {candidate.arch} is not in table {self.table}")
            by_column = dict(zip(self.columns, values))
            yield Evaluation({name: by_column[source] for name, source in self.sources.items()})
