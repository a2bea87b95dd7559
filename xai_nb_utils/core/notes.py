"""The numbers in ``docs/notes/*.md`` come from recorded results, never typed.

A note states a measured value through a marker the runner fills from the results of a finished default run
(the text between the markers is generated; what stands there is replaced):

* ``<!-- value STEM KEY FORMAT -->0.123<!-- /value -->``: the value at ``KEY`` of ``results/STEM.json``, formatted
  with the optional Python format spec ``FORMAT`` (``.3f``, ``.1%``). ``KEY`` is a dotted path: a list index as a
  number, or ``column=value`` for the first row of a table with that value; ``STEM | KEY | FORMAT`` when the key
  holds spaces;
* ``<!-- headline PAPER -->`` ... ``<!-- /headline -->``: the paper's headline claims as decided (verdict, effect
  and CI at the Holm level, n), the README's table for one paper.

Outside the markers a note states no measured decimal number and no verdict, except on a line that labels the
number as the paper's own (the word "paper" on that line) and on a dated line of a measurement log (a date
``YYYY-MM-DD`` on that line: a past measurement, not a current result). :func:`problems` lists the breaches
and the markers the results cannot fill; ``tests/test_notes.py`` fails on any.
"""
import json
import re
from pathlib import Path

from xai_nb_utils.core.claims import VERDICTS

VALUE = re.compile(r"<!-- value (?P<spec>.*?) -->(?P<text>.*?)<!-- /value -->", re.S)
HEADLINE = re.compile(r"<!-- headline (?P<paper>.*?) -->(?P<text>.*?)<!-- /headline -->", re.S)
#: a measured number: with a decimal point or a percent sign (integers are settings, counts and section numbers),
#: not a threshold after a comparison sign ("p > 0.99")
MEASURED = re.compile(r"(?<![\w.<>=])(?<![<>=] )[-+]?(?:\d*\.\d+|\d+(?:\.\d+)?\s?%)(?![\w.])")
DATED = re.compile(r"\b20\d\d-\d\d-\d\d\b")
VERDICT_WORDS = re.compile(r"\b(" + "|".join(re.escape(verdict) for verdict in VERDICTS) + r")\b", re.I)


def _results(results_dir: Path) -> dict:
    return {path.stem: json.loads(path.read_text()) for path in sorted(Path(results_dir).glob("*.json"))}


def _step(value, part: str):
    """One step of a key path: a dict key, a list index, or ``column=value`` (the first such row of a table);
    KeyError when ``part`` is none of them."""
    column, _, wanted = part.partition("=")
    if isinstance(value, dict) and part in value:
        return value[part]
    if isinstance(value, list) and wanted:
        for row in value:
            if isinstance(row, dict) and str(row.get(column)) == wanted:
                return row
    if isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
        return value[int(part)]
    raise KeyError(part)


def lookup(results: dict, stem: str, key: str):
    """The value at dotted ``key`` of notebook ``stem``'s results (a name holding dots, "p > 0.99", is matched
    whole); KeyError naming what is missing."""
    if stem not in results:
        raise KeyError(f"no results of notebook {stem!r}")
    value, parts = results[stem], key.split(".")
    while parts:
        for length in range(len(parts), 0, -1):  # the longest run of parts that names a step
            try:
                value = _step(value, ".".join(parts[:length]))
            except KeyError:
                continue
            parts = parts[length:]
            break
        else:
            raise KeyError(f"{stem}: {key!r} has no {parts[0]!r}")
    return value


def render_value(results: dict, spec: str) -> str:
    """The text of one value marker (``STEM KEY [FORMAT]``, or ``STEM | KEY | FORMAT`` for a key with spaces)."""
    stem, key, *fmt = [part.strip() for part in spec.split("|")] if "|" in spec else spec.split()
    value = lookup(results, stem, key)
    if isinstance(value, (dict, list)):
        raise KeyError(f"{stem}: {key!r} is a {type(value).__name__}, not a value")
    return format(value, fmt[0]) if fmt and value is not None else str(value)


def _filled(text: str, results: dict, headline_rows: list) -> str:
    from xai_nb_utils.core.ledger import headline_markdown

    def headline(match):
        paper = match["paper"].strip()
        rows = [row for row in headline_rows if row["paper"] == paper]
        table = headline_markdown(rows) if rows else f"(no headline claim of {paper} recorded yet)\n"
        return f"<!-- headline {paper} -->\n{table}<!-- /headline -->"

    text = VALUE.sub(lambda m: f"<!-- value {m['spec']} -->{render_value(results, m['spec'])}<!-- /value -->", text)
    return HEADLINE.sub(headline, text)


def fill(note: Path, results_dir: Path) -> str:
    """The note with every marker filled from ``results_dir`` (KeyError when one cannot be)."""
    from xai_nb_utils.core.ledger import headline_rows

    return _filled(Path(note).read_text(), _results(results_dir), headline_rows(results_dir))


def fill_all(notes_dir: Path, results_dir: Path) -> list:
    """Fill every note in ``notes_dir`` in place; returns the notes that changed."""
    from xai_nb_utils.core.ledger import headline_rows

    results, rows, changed = _results(results_dir), headline_rows(results_dir), []  # read and decided once
    for note in sorted(Path(notes_dir).glob("*.md")):
        text = _filled(note.read_text(), results, rows)
        if text != note.read_text():
            note.write_text(text)
            changed.append(note)
    return changed


def typed_values(text: str) -> list:
    """(line number, what) of each measured number or verdict stated outside the markers, lines about the paper's
    own numbers and dated entries of a measurement log (a line with a date and the indented lines that continue it)
    left out."""
    stripped = HEADLINE.sub(lambda m: "\n" * m.group(0).count("\n"), VALUE.sub("", text))
    found, dated_item = [], False
    for number, line in enumerate(stripped.splitlines(), 1):
        item_start = line.lstrip().startswith(("* ", "- ")) or not line.startswith(" ")
        dated_item = bool(DATED.search(line)) or (dated_item and not item_start)  # a dated log entry, all its lines
        if "paper" in line.lower() or dated_item:
            continue
        found += [(number, match.group(0)) for match in (*MEASURED.finditer(line), *VERDICT_WORDS.finditer(line))]
    return found


def problems(note: Path, results_dir: Path | None = None) -> list:
    """What is wrong with a note: typed measured values or verdicts, and (given ``results_dir``) markers the
    results cannot fill."""
    text = Path(note).read_text()
    found = [f"{note.name}:{line}: {what!r} is typed, not generated" for line, what in typed_values(text)]
    if results_dir is not None:
        results = _results(results_dir)
        for match in VALUE.finditer(text):
            try:
                render_value(results, match["spec"])
            except (KeyError, ValueError, TypeError) as error:
                found.append(f"{note.name}: marker '{match['spec']}' cannot be filled: {error}")
    return found
