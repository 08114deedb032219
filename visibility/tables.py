"""Small result tables shown to people or written as CSV/JSON, and the listings behind them."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from .store import Store


def clean(value) -> str:
    """Show a value literally, but never let control characters reach a terminal."""
    text = "" if value is None else str(value)
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple]

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if v is None else v for v in row])
        return buf.getvalue()

    def to_json(self) -> str:
        return json.dumps(self.records(), indent=2, default=str) + "\n"

    def to_text(self, width: int = 60) -> str:
        cells = [[clean(v)[:width] for v in row] for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(self.columns, widths)),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
        return "\n".join(lines) + "\n"


def rejects_table(store: Store, source_id: int | None = None, reason: str | None = None) -> Table:
    filters, params = ["true"], []
    if source_id is not None:
        filters.append("r.source_id = ?")
        params.append(source_id)
    if reason:
        filters.append("r.reason = ?")
        params.append(reason)
    cur = store.con.execute(
        f"""SELECT r.source_id, s.path, r.line, r.reason, r.raw FROM rejects r
            JOIN sources s USING (source_id) WHERE {' AND '.join(filters)}
            ORDER BY r.source_id, r.line""", params)
    return Table([d[0] for d in cur.description], cur.fetchall())


def sources_table(store: Store) -> Table:
    cur = store.con.execute(
        """SELECT source_id, path, format, rows_read, rows_accepted AS accepted,
                  rows_rejected AS rejected, rows_duplicate AS duplicate,
                  rows_unassigned AS unassigned, left(sha256, 16) AS sha256,
                  strftime(ingested_at, '%Y-%m-%d %H:%M') AS ingested_at
           FROM sources ORDER BY source_id""")
    return Table([d[0] for d in cur.description], cur.fetchall())
