"""Paired statistics and verdicts, on cases whose answer is known."""
import json

import numpy as np
import pytest

from xai_nb_utils.core.results import Recorder, load_results
from xai_nb_utils.metrics.statistics import decide, one_sample_comparison, paired_comparison


def test_a_clear_improvement_in_the_papers_direction_is_reproduced():
    rng = np.random.default_rng(0)
    b = rng.uniform(0.4, 0.6, 40)
    evidence = paired_comparison(b + 0.1 + rng.normal(0, 0.01, 40), b, expected="greater")
    assert evidence.verdict == "reproduced" and evidence.n == 40
    assert evidence.ci_low > 0.09 and evidence.ci_high < 0.11 and evidence.p_value < 1e-6
    assert evidence.difference == pytest.approx(0.1, abs=0.01)


def test_the_opposite_effect_is_contradicted_and_noise_is_inconclusive():
    rng = np.random.default_rng(1)
    b = rng.uniform(0, 1, 30)
    assert paired_comparison(b - 0.2, b, expected="greater").verdict == "contradicted"
    assert paired_comparison(b - 0.2, b, expected="less").verdict == "reproduced"
    noise = rng.normal(0, 1, 30)
    assert paired_comparison(b + noise * 0.01 - np.mean(noise * 0.01), b).verdict == "inconclusive"


def test_identical_scores_and_tiny_samples_are_inconclusive():
    assert paired_comparison([0.5] * 10, [0.5] * 10).verdict == "inconclusive"
    assert paired_comparison([0.9, 0.8], [0.1, 0.2]).verdict == "inconclusive"  # n = 2: p >= 0.5


def test_decide_needs_both_the_interval_and_the_test():
    assert decide(0.1, 0.01, 0.2, 0.2, "greater") == "inconclusive"
    assert decide(0.1, -0.01, 0.2, 0.001, "greater") == "inconclusive"
    assert decide(0.1, 0.01, 0.2, 0.001, "greater") == "reproduced"


def test_one_sample_against_chance():
    rng = np.random.default_rng(2)
    assert one_sample_comparison(rng.uniform(0.6, 0.9, 25), 0.5).verdict == "reproduced"


def test_bad_pairs_are_errors():
    with pytest.raises(ValueError, match="same non-zero number"):
        paired_comparison([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        paired_comparison([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="'expected'"):
        paired_comparison([1, 2], [0, 1], expected="higher")


def test_a_paper_claim_is_recorded_with_its_evidence():
    recorder = Recorder("09_test")
    evidence = paired_comparison(np.linspace(0.6, 0.9, 20), np.linspace(0.5, 0.8, 20) + 0.001)
    sentence = recorder.paper_claim("iGOS++", "Table 1", "iGOS++ beats I-GOS on insertion", evidence,
                                    labels=("iGOS++", "I-GOS"), paper_value="0.679 vs 0.486")
    assert sentence.startswith("reproduced: iGOS++ 0.75 vs I-GOS 0.651")
    saved = load_results("09_test")["paper_claims"]
    assert len(saved) == 1 and saved[0]["verdict"] == "reproduced" and saved[0]["n"] == 20
    assert saved[0]["paper_value"] == "0.679 vs 0.486"


def test_the_ledger_counts_verdicts_and_writes_the_readme_table(tmp_path):
    from xai_nb_utils.core import ledger

    results = tmp_path / "results"
    results.mkdir()
    claims = [{"paper": "GAX", "claim_id": "Table 2", "claim": "x", "paper_value": None, "ours": "o", "verdict": v}
              for v in ("reproduced", "inconclusive", "inconclusive")]
    (results / "02_x.json").write_text(json.dumps({"notebook": "02_x", "profile": "default", "paper_claims": claims}))
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\n{ledger.README_START}\nold\n{ledger.README_END}\n\nrest\n")
    table = ledger.write_reproduction(results, tmp_path / "reproduction.md", readme)
    assert "`default`-profile runs: 1 reproduced, 0 contradicted, 2 inconclusive of 3 paper claims" in table
    assert ledger.readme_table(readme) == table == (tmp_path / "reproduction.md").read_text()
    assert readme.read_text().endswith("\n\nrest\n")
    assert ledger.verdict_counts(ledger.load_paper_claims(results))["GAX"] == {
        "reproduced": 1, "contradicted": 0, "inconclusive": 2}


def test_the_index_section_counts_verdicts_per_paper():
    from xai_nb_utils.core import ledger

    claims = [{"paper": "DRE", "claim_id": "T3", "claim": "a < b", "notebook": "06", "paper_value": None,
               "ours": "contradicted: ...", "verdict": "contradicted"}]
    section = ledger.paper_claims_html(claims)
    assert "<h2>Paper claims</h2>" in section and "<td>DRE</td><td>0</td><td>1</td><td>0</td>" in section
    assert "a &lt; b" in section
