"""Each paper's headline family (``studies/<paper>_claims.py``) is declared as issue 26 asks: 3-6 claims quoted
verbatim from the paper's text, each run by an existing notebook of that paper."""
import re

import pytest

from xai_nb_utils.core.claims import HeadlineClaim
from xai_nb_utils.core.ledger import PAPERS
from xai_nb_utils.core.paths import notebooks_dir, repo_root
from xai_nb_utils.studies.headline import claims_modules

PAPER_TEXTS = repo_root().parent / "shared" / "papers"
PAPER_FILES = {"GAX": "000_", "iGOS++": "001_", "Opti-CAM": "002_", "DRE": "003_", "GGIG/GEG": "004_"}
MODULES = {module.__name__.rsplit(".", 1)[1]: module for module in claims_modules()}


def _collapsed(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_every_paper_has_a_claims_module():
    declared = {module.PAPER for module in MODULES.values()}
    assert declared == set(PAPERS)


@pytest.mark.parametrize("name", MODULES)
def test_family_is_declared_as_issue_26_asks(name):
    module = MODULES[name]
    family = module.CLAIMS
    assert 3 <= len(family) <= 6, f"{module.PAPER}: {len(family)} headline claims (3-6 wanted)"
    assert all(isinstance(claim, HeadlineClaim) and claim.paper == module.PAPER for claim in family)
    assert len({claim.claim_id for claim in family}) == len(family), "claim ids repeat"
    notebooks = {path.stem for path in notebooks_dir().glob("0[1-7]_*.ipynb")}
    texts = sorted(PAPER_TEXTS.glob(PAPER_FILES[module.PAPER] + "*.txt"))
    assert texts, f"the papers' text is missing: {PAPER_TEXTS} (../shared/papers beside the clone) must hold it"
    paper_text = _collapsed(texts[0].read_text())
    for claim in family:
        assert claim.notebook in notebooks, f"{claim.claim_id}: no paper notebook {claim.notebook}"
        assert _collapsed(claim.quote) in paper_text, f"{claim.claim_id}: the quote is not verbatim in the paper"
        assert claim.n_reason.strip() and claim.metric.strip() and claim.comparison.strip()
