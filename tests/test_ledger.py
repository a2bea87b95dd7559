"""The ledger: headline claims decided per paper across notebooks, secondary rows in the appendix, the README."""
import numpy as np

from xai_nb_utils.core import ledger
from xai_nb_utils.core.claims import HeadlineClaim
from xai_nb_utils.core.params import setup
from xai_nb_utils.core.paths import reports_dir
from xai_nb_utils.metrics.statistics import paired_comparison, paired_t
from xai_nb_utils.studies import headline


def _family():
    common = dict(paper="GAX", quote="it holds", section="Abstract", metric="CO", comparison="a vs b",
                  hypothesis="superiority", direction="greater", margin=0.0, test="paired t", planned_n=30,
                  n_reason="n >= 30 paired images")
    return (HeadlineClaim(claim_id="H1", label="first", notebook="02_x", **common),
            HeadlineClaim(claim_id="H2", label="second", notebook="03_y", premises=("headroom",), **common))


def test_a_family_recorded_by_two_notebooks_is_decided_together():
    family, rng = _family(), np.random.default_rng(0)
    base = rng.uniform(0, 1, 40)
    first = setup("02_x", profile="smoke")
    headline.record(first, family, "H1", {"a vs b": paired_t(base + 0.3 + rng.normal(0, 0.1, 40), base)})
    alone = headline.decided(first, "GAX")
    assert [row["claim_id"] for row in alone] == ["H1"] and alone[0]["level"] == 0.05
    second = setup("03_y", profile="smoke")
    headline.record(second, family, "H2", {"a vs b": paired_t(base + 0.3, base)},
                    {"headroom": headline.check(False, "random map within 0.01 of the best")})
    rows = headline.decided(second, "GAX")
    assert [(row["claim_id"], row["verdict"]) for row in rows] == [("H1", "reproduced"), ("H2", "not testable here")]
    assert headline.decided_table(rows).loc["H2", "why"].startswith("premise failed: headroom")
    table = ledger.headline_markdown(rows)
    assert "| GAX | H1 first | reproduced |" in table and "| GAX | 1 | 0 | 0 | 0 | 1 |" in table


def test_an_unchecked_premise_is_an_error():
    import pytest

    run = setup("03_y", profile="smoke")
    with pytest.raises(ValueError, match=r"premises \['headroom'\] that were not checked"):
        headline.record(run, _family(), "H2", {"a vs b": paired_t([1.0] * 30, [0.0] * 30)})


def test_write_reproduction_puts_the_headline_table_in_the_readme(tmp_path):
    run = setup("02_x", profile="default")
    rng = np.random.default_rng(1)
    headline.record(run, _family(), "H1", {"a vs b": paired_t(rng.normal(1, 1, 40), rng.normal(0, 1, 40))})
    for kind, verdict_shift in (("table cell", 0.5), ("self-check", 0.5)):
        evidence = paired_comparison(np.linspace(0, 1, 30) + verdict_shift, np.linspace(0, 1, 30))
        run.recorder.paper_claim("GAX", f"Fig. 2 {kind}", "x > y", evidence, ("x", "y"), kind=kind)
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\n{ledger.README_START}\nold\n{ledger.README_END}\n\nrest\n")
    table = ledger.write_reproduction(reports_dir() / "results", tmp_path / "reproduction.md", readme)
    assert ledger.readme_table(readme) == table and readme.read_text().endswith("\n\nrest\n")
    report = (tmp_path / "reproduction.md").read_text()
    assert report.startswith("# Reproduction report\n\n" + table)
    assert "### GAX H1: first — **reproduced**" in report and "> it holds" in report
    assert "### GAX: 1 reproduced" in report  # the self-check is listed, not counted
    assert "| self-check | Fig. 2 self-check |" in report
    assert ledger.verdict_counts(ledger.load_paper_claims(reports_dir() / "results"))["GAX"]["reproduced"] == 1


def test_the_published_copy_leaves_out_oversized_records():
    """A record over the cap (per-image raw data) becomes a sentence saying where it is; the others stay as they are."""
    big = [{"image": i, "value": 0.5} for i in range(ledger.PUBLISHED_RECORD_BYTES // 20)]
    results = {"notebook": "08_cross_paper_benchmark", "claims": [], "records": {"scores": big, "finding": "text"}}
    copy = ledger.published_copy(results)
    assert copy["records"]["finding"] == "text" and copy["claims"] == []
    assert copy["records"]["scores"].startswith("left out of the published copy (")
    assert "reports/results/08_cross_paper_benchmark.json" in copy["records"]["scores"]
    assert results["records"]["scores"] is big  # the run's own results are not changed
