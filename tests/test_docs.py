"""The generated documents agree with the published results (docs/results/, copied there by the last finished
default run): the README's headline table and docs/reproduction.md are what the ledger writes from them."""
from xai_nb_utils.core import ledger
from xai_nb_utils.core.paths import repo_root

PUBLISHED = repo_root() / "docs" / "results"


def test_the_readme_headline_table_is_the_one_the_results_give():
    rows = ledger.headline_rows(PUBLISHED)
    assert rows, "docs/results/ holds no headline claim: a finished `make report` (default profile) writes it"
    assert ledger.readme_table(repo_root() / "README.md") == ledger.headline_markdown(rows)


def test_docs_reproduction_md_is_the_one_the_results_give():
    expected = ledger.reproduction_markdown(ledger.headline_rows(PUBLISHED), ledger.load_paper_claims(PUBLISHED))
    assert (repo_root() / "docs" / "reproduction.md").read_text() == expected


def test_every_paper_has_its_headline_family_published():
    papers = {row["paper"] for row in ledger.headline_rows(PUBLISHED)}
    assert papers == set(ledger.PAPERS)
