"""Recording and showing a paper's headline claims (declared in its ``studies/*_claims.py`` module).

A notebook computes the tests of a claim (``metrics.statistics``: one :class:`TestResult` per compared pair) and
checks its premises, then :func:`record` stores them; :func:`decided` shows the family of the paper decided with
Holm's correction over every notebook of the paper recorded so far with this profile (a claim of the paper whose
notebook has not run yet is simply absent, which can only make the correction stricter).
"""
import importlib
import pkgutil

import pandas as pd

from xai_nb_utils.core.claims import HeadlineClaim, interval_text
from xai_nb_utils.core.ledger import headline_rows
from xai_nb_utils.core.paths import reports_dir
from xai_nb_utils.metrics.statistics import component


def record(run, family: tuple, claim_id: str, tests: dict, premises: dict | None = None,
           paper_value: str | None = None) -> dict:
    """Record claim ``claim_id`` of ``family`` with its ``tests`` ({pair label: TestResult}) and ``premises``
    ({name: (passed, detail)}; every premise the claim declares must be checked)."""
    claim = declared(family, claim_id)
    premises = premises or {}
    unchecked = set(claim.premises) - set(premises)
    if unchecked:
        raise ValueError(f"claim {claim.paper} {claim_id} declares premises {sorted(unchecked)} that were not checked")
    wrong = [label for label, result in tests.items() if result.test != claim.test]
    if wrong:
        raise ValueError(f"claim {claim.paper} {claim_id} is declared with the {claim.test}; {wrong} used another")
    components = [component(result, label, claim.hypothesis, claim.direction, claim.margin, len(family))
                  for label, result in tests.items()]
    checked = [{"name": name, "passed": bool(passed), "detail": detail} for name, (passed, detail) in premises.items()]
    return run.recorder.headline_claim(claim, family.index(claim), components, checked, paper_value)


def declared(family: tuple, claim_id: str) -> HeadlineClaim:
    """The declaration of ``claim_id`` in ``family``."""
    for claim in family:
        if claim.claim_id == claim_id:
            return claim
    raise KeyError(f"no claim {claim_id!r} in {family[0].paper}'s family: {[c.claim_id for c in family]}")


def declaration_table(family: tuple) -> pd.DataFrame:
    """The family as declared: what each claim quotes, measures, tests and needs."""
    return pd.DataFrame([{"claim": c.claim_id, "label": c.label, "paper says": f"\u201c{c.quote}\u201d ({c.section})",
                          "measured": c.metric, "compared": c.comparison,
                          "hypothesis": f"{c.hypothesis}, {'min. effect' if c.hypothesis == 'superiority' else 'margin'}"
                                        f" {c.margin:g}", "test": c.test, "planned n": c.planned_n,
                          "why this n": c.n_reason, "premises": ", ".join(c.premises) or "-",
                          "notebook": c.notebook} for c in family]).set_index("claim")


def decided(run, paper: str) -> list:
    """The paper's recorded headline claims, decided within the paper (this run's profile only)."""
    return headline_rows(reports_dir() / "results", paper, profile=run.profile)


def decided_table(rows: list) -> pd.DataFrame:
    """Decided rows as a table: verdict, effect [CI at the claim's Holm level], n, p, Holm p, why."""
    return pd.DataFrame([{"claim": row["claim_id"], "label": row["label"], "verdict": row["verdict"],
                          "effect [CI]": interval_text(row), "n": row.get("n"),
                          "level": None if row["level"] is None else round(1 - row["level"], 4),
                          "p": row["p_claim"], "Holm p": row["p_holm"], "why": row["reason"]}
                         for row in rows]).set_index("claim")


def check(passed, detail: str) -> tuple:
    """A premise's outcome, as :func:`record` takes it."""
    return bool(passed), detail


def claims_modules() -> list:
    """Every paper's claims module (``studies/*_claims.py``, each with ``PAPER`` and ``CLAIMS``), by name."""
    from xai_nb_utils import studies

    return [importlib.import_module(f"xai_nb_utils.studies.{name}")
            for _, name, _ in sorted(pkgutil.iter_modules(studies.__path__), key=lambda m: m.name)
            if name.endswith("_claims")]
