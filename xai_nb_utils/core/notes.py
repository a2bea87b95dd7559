"""The numbers in ``docs/notes/*.md`` come from recorded results, never typed.

A note states a measured value through a marker the runner fills from the results of a finished default run
(the text between the markers is generated; what stands there is replaced):

* ``<!-- value STEM KEY FORMAT -->0.123<!-- /value -->``: the value at ``KEY`` (a dotted path, list indices as
  numbers) of ``results/STEM.json``, formatted with the optional Python format spec ``FORMAT`` (``.3f``, ``.1%``);
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

VALUE = re.compile(r"<!-- value (?P<spec>[^>]*?) -->(?P<text>.*?)<!-- /value -->", re.S)
HEADLINE = re.compile(r"<!-- headline (?P<paper>[^>]*?) -->(?P<text>.*?)<!-- /headline -->", re.S)
#: a measured number: with a decimal point or a percent sign (integers are settings, counts and section numbers)
MEASURED = re.compile(r"(?<![\w.])[-+]?\d*\.\d+(?![\w.])|(?<![\w.])\d+(?:\.\d+)?\s?%")
DATED = re.compile(r"\b20\d\d-\d\d-\d\d\b")
VERDICT_WORDS = re.compile(r"\b(" + "|".join(re.escape(verdict) for verdict in VERDICTS) + r")\b", re.I)


def _results(results_dir: Path) -> dict:
    return {path.stem: json.loads(path.read_text()) for path in sorted(Path(results_dir).glob("*.json"))}


def lookup(results: dict, stem: str, key: str):
    """The value at dotted ``key`` of notebook ``stem``'s results; KeyError naming what is missing."""
    if stem not in results:
        raise KeyError(f"no results of notebook {stem!r}")
    value = results[stem]
    for part in key.split("."):
        if isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(f"{stem}: {key!r} has no {part!r}")
    return value


def render_value(results: dict, spec: str) -> str:
    """The text of one value marker (``STEM KEY [FORMAT]``)."""
    stem, key, *fmt = spec.split()
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
    changed = []
    for note in sorted(Path(notes_dir).glob("*.md")):
        text = fill(note, results_dir)
        if text != note.read_text():
            note.write_text(text)
            changed.append(note)
    return changed


def typed_values(text: str) -> list:
    """(line number, what) of each measured number or verdict stated outside the markers, lines about the paper's
    own numbers and dated lines of a measurement log left out."""
    stripped = HEADLINE.sub(lambda m: "\n" * m.group(0).count("\n"), VALUE.sub("", text))
    found = []
    for number, line in enumerate(stripped.splitlines(), 1):
        if "paper" in line.lower() or DATED.search(line):
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
