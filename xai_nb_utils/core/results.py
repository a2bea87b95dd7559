"""Machine-readable key results of a notebook run: ``reports/results/<notebook>.json``.

The runner's index page and the notebook tests read these files. Every write is atomic and contains the whole
record so far, so an interrupted notebook leaves a valid (partial) file. Every recorded table (a DataFrame or a list
of dicts, also one nested in a dict) is written as well as ``reports/tables/<notebook>/<key>.csv``.
"""
import csv
import io
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from xai_nb_utils.core.cache import atomic_write_bytes
from xai_nb_utils.core.paths import reports_dir

#: the kinds of a paper's secondary rows (``Recorder.paper_claim``); self-checks are not counted as claims
SECONDARY_KINDS = ("table cell", "reading of a remark", "self-check")


def to_jsonable(value: Any) -> Any:
    """Convert numbers, arrays, tensors and DataFrames into plain JSON values (NaN -> None)."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame: one dict per row
        frame = value.reset_index() if value.index.name else value  # a named index becomes a column
        return to_jsonable(frame.to_dict(orient="records"))
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if value is None or isinstance(value, (str, int)):
        return value
    raise TypeError(f"cannot record a {type(value).__name__} ({value!r}); record numbers, strings, lists, dicts, "
                    f"arrays, tensors or DataFrames")


def is_table(value: Any) -> bool:
    """A recorded (JSON) value that is a table: a non-empty list of dicts, one per row."""
    return isinstance(value, list) and bool(value) and all(isinstance(row, dict) for row in value)


def tables_in(key: str, value: Any) -> dict[str, list[dict]]:
    """The tables in a recorded value by name: the value itself (``key``) or those nested in it (``key.inner``)."""
    if is_table(value):
        return {key: value}
    if isinstance(value, dict):
        return {name: rows for inner, item in value.items() for name, rows in tables_in(f"{key}.{inner}", item).items()}
    return {}


def tables_dir(directory: Path, notebook: str) -> Path:
    return Path(directory) / "tables" / notebook


def table_csv_path(directory: Path, notebook: str, name: str) -> Path:
    """``directory/tables/<notebook>/<name>.csv`` (characters unsafe in file names replaced by ``_``)."""
    return tables_dir(directory, notebook) / (re.sub(r"[^\w.+-]+", "_", name) + ".csv")


def table_columns(rows: list[dict]) -> list[str]:
    """The columns of a table in order of first appearance (a row may lack some)."""
    return list(dict.fromkeys(column for row in rows for column in row))


def table_csv(rows: list[dict]) -> str:
    """CSV text of a table: ``table_columns``, nested values as JSON, None empty."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=table_columns(rows), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: json.dumps(cell) if isinstance(cell, (dict, list)) else cell
                         for column, cell in row.items()})
    return text.getvalue()


class Recorder:
    """Collects ``record(key, value)`` and ``claim(name, passed, detail)`` and saves after each call."""

    def __init__(self, notebook: str, **meta: Any):
        self.notebook = notebook
        self.path = Path(reports_dir()) / "results" / f"{notebook}.json"
        self.data = {"notebook": notebook, **meta, "records": {}, "claims": [], "paper_claims": [],
                     "headline_claims": []}
        shutil.rmtree(tables_dir(reports_dir(), notebook), ignore_errors=True)  # no table of an earlier run stays
        self._save()

    def record(self, key: str, value: Any) -> Any:
        """Store ``value`` under ``key``; a value that cannot be recorded is an error and nothing is stored."""
        if not isinstance(key, str) or not key:
            raise TypeError(f"a record key must be a non-empty string, got {key!r}")
        self.data["records"][key] = to_jsonable(value)
        self._save()
        for name, rows in tables_in(key, self.data["records"][key]).items():
            atomic_write_bytes(table_csv_path(reports_dir(), self.notebook, name), table_csv(rows).encode())
        return value

    def claim(self, name: str, passed: bool, detail: str = "") -> bool:
        self.data["claims"] = [c for c in self.data["claims"] if c["name"] != name]
        self.data["claims"].append({"name": name, "passed": bool(passed), "detail": detail})
        self._save()
        status = "holds" if passed else "DOES NOT HOLD"
        print(f"[claim] {name}: {status}" + (f" ({detail})" if detail else ""))
        return bool(passed)

    def paper_claim(self, paper: str, claim_id: str, claim: str, evidence, labels=("a", "b"),
                    paper_value: str | None = None, kind: str = "table cell") -> str:
        """Record a secondary row of a paper (``kind``: a table cell, a reading of a remark, or a self-check) with
        the evidence that decides it (``metrics.statistics.Evidence``, uncorrected): the paper, where it says it,
        the claim in one sentence, the paper's number as text when it gives one (shown labelled as the paper's),
        our numbers and the verdict. Prints and returns the sentence that states the outcome."""
        if kind not in SECONDARY_KINDS:
            raise ValueError(f"kind {kind!r} is not one of {SECONDARY_KINDS}")
        ours = evidence.sentence(*labels)
        entry = {"paper": paper, "claim_id": claim_id, "claim": claim, "kind": kind, "paper_value": paper_value,
                 "labels": list(labels), "ours": ours, **to_jsonable(evidence.as_dict())}
        self.data["paper_claims"] = [c for c in self.data["paper_claims"]
                                     if (c["paper"], c["claim_id"]) != (paper, claim_id)] + [entry]
        self._save()
        print(f"[{kind}] {paper} {claim_id}: {claim} -> {ours}")
        return ours

    def headline_claim(self, claim, order: int, components: list, premises: list, paper_value: str | None = None,
                       ) -> dict:
        """Record a declared headline claim (``core.claims.HeadlineClaim``, number ``order`` of its paper's family)
        with its ``components`` (``metrics.statistics.component``) and its checked ``premises`` (dicts of name,
        passed, detail). The verdict is decided per paper by ``core.ledger.headline_rows``."""
        entry = {**claim.as_dict(), "order": order, "paper_value": paper_value,
                 "components": to_jsonable(components), "premises_checked": to_jsonable(premises)}
        self.data["headline_claims"] = [c for c in self.data["headline_claims"]
                                        if (c["paper"], c["claim_id"]) != (claim.paper, claim.claim_id)] + [entry]
        self._save()
        return entry

    def _save(self) -> None:
        atomic_write_bytes(self.path, json.dumps(self.data, indent=1).encode())


def load_results(notebook: str, directory: Path | None = None) -> dict:
    directory = Path(directory or reports_dir()) / "results"
    return json.loads((directory / f"{notebook}.json").read_text())
