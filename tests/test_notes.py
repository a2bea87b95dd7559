"""The notes in docs/notes/ state measured numbers and verdicts only through generated markers, and those markers
hold what the published results (docs/results/, copied there by the last finished default run) give."""
import json

import pytest

from xai_nb_utils.core import notes
from xai_nb_utils.core.paths import repo_root

NOTES = sorted((repo_root() / "docs" / "notes").glob("*.md"))
PUBLISHED = repo_root() / "docs" / "results"


@pytest.mark.parametrize("note", NOTES, ids=lambda path: path.name)
def test_note_agrees_with_the_published_results(note):
    assert PUBLISHED.is_dir(), "docs/results/ is missing: a finished `make report` (default profile) writes it"
    assert notes.problems(note, PUBLISHED) == []
    assert notes.fill(note, PUBLISHED) == note.read_text(), \
        f"{note.name} holds values the published results do not give: rerun `make report` or fix the marker"


def _results(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "04_x.json").write_text(json.dumps({"notebook": "04_x", "records": {
        "auc": {"igos": 0.91234, "rows": [{"n": 12}, {"n": 30}]}, "share": 0.25,
        "health": [{"model": "a", "max p": 0.5}, {"model": "b", "max p": 0.25, "p > 0.99": 0.75}]}, "headline_claims": []}))
    return folder


def test_value_markers_are_filled_from_the_results(tmp_path):
    folder = _results(tmp_path)
    note = tmp_path / "x.md"
    note.write_text("AUC <!-- value 04_x records.auc.igos .3f -->?<!-- /value --> on "
                    "<!-- value 04_x records.auc.rows.-1.n -->?<!-- /value --> images, "
                    "<!-- value 04_x records.share .0% -->?<!-- /value --> of them, "
                    "<!-- value 04_x | records.health.model=b.max p | .2f -->?<!-- /value -->, "
                    "<!-- value 04_x | records.health.1.p > 0.99 -->?<!-- /value -->.\n"
                    "<!-- headline iGOS++ -->\nold table\n<!-- /headline -->\n")
    filled = notes.fill(note, folder)
    assert "AUC <!-- value 04_x records.auc.igos .3f -->0.912<!-- /value --> on" in filled
    assert "-->30<!-- /value --> images" in filled and "-->25%<!-- /value --> of them" in filled
    assert "| .2f -->0.25<!-- /value -->," in filled and "0.99 -->0.75<!-- /value -->." in filled
    assert "old table" not in filled and "no headline claim of iGOS++ recorded yet" in filled
    assert notes.problems(note, folder) == []


def test_a_marker_the_results_cannot_fill_is_a_problem(tmp_path):
    folder = _results(tmp_path)
    note = tmp_path / "x.md"
    note.write_text("<!-- value 04_x records.auc.gone -->1<!-- /value --> <!-- value 05_y records.a -->1<!-- /value -->"
                    " <!-- value 04_x records.auc -->1<!-- /value -->\n")
    found = notes.problems(note, folder)
    assert len(found) == 3
    assert "'gone'" in found[0] and "05_y" in found[1] and "dict" in found[2]


def test_typed_numbers_and_verdicts_are_found_outside_markers_only():
    text = ("Insertion 0.913 against 0.943, so the claim is reproduced.\n"
            "The paper's Table 3 gives 0.7284 (labelled as the paper's).\n"
            "We ran 8 IG steps on 30 images; 12% of them <!-- value 04_x records.share .0% -->25%<!-- /value -->.\n"
            "<!-- headline iGOS++ -->\n| H1 | reproduced | +0.1 |\n<!-- /headline -->\n"
            "Not testable here: ceiling.\n"
            "* 2026-12-05: the cold report took 19.7 min,\n  warm 1.7 min (a dated log entry).\n"
            "Share of images with p > 0.99 or p >= 0.3 (thresholds); 0.5 after it.\n")
    assert notes.typed_values(text) == [(1, "0.913"), (1, "0.943"), (1, "reproduced"), (3, "12%"),
                                        (7, "Not testable here"), (10, "0.5")]
