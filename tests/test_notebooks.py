"""Every notebook in notebooks/ (found automatically): clean when committed, runs on the smoke profile,
and its recorded claims hold. Notebook-specific checks live in tests/notebook_checks/<stem>.py."""
import ast
import importlib.util
import json

import nbformat
import pytest

from xai_nb_utils import report
from xai_nb_utils.core.claims import VERDICTS, decide_family
from xai_nb_utils.core.results import SECONDARY_KINDS
from xai_nb_utils.studies import headline
from xai_nb_utils.core.paths import notebooks_dir, repo_root

NOTEBOOKS = report.find_notebooks(notebooks_dir())
COMMON_PARAMETERS = {"profile": "default", "device": "auto", "seed": 0}
CHECKS_DIR = repo_root() / "tests" / "notebook_checks"
MAX_EXECUTED_BYTES = 3_000_000  # an executed notebook (outputs included) stays below 3 MB


def _parameters_cells(notebook):
    return [cell for cell in notebook.cells if "parameters" in cell.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_clean(path):
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name} cell {index} has outputs: clear them before committing"
            assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_one_literal_parameters_cell(path):
    cells = _parameters_cells(nbformat.read(path, as_version=4))
    assert len(cells) == 1, f"{path.name} needs exactly one cell tagged 'parameters', found {len(cells)}"
    assert cells[0].cell_type == "code"
    values = {}
    for statement in ast.parse(cells[0].source).body:
        assert isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
            and isinstance(statement.targets[0], ast.Name), \
            f"{path.name}: the parameters cell may only hold `name = literal` lines, got `{ast.unparse(statement)}`"
        name = statement.targets[0].id
        try:
            values[name] = ast.literal_eval(statement.value)
        except ValueError:
            pytest.fail(f"{path.name}: parameter {name} is not a literal: `{ast.unparse(statement.value)}`")
    for name, default in COMMON_PARAMETERS.items():
        assert values.get(name) == default, f"{path.name}: parameters cell needs `{name} = {default!r}`"


def _notebook_check(stem: str):
    """``check_results`` from tests/notebook_checks/<stem>.py, or None when there is no such file."""
    check_file = CHECKS_DIR / f"{stem}.py"
    if not check_file.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"notebook_checks_{stem}", check_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.check_results


# The notebooks need no order: a model is trained by the first test that needs it, under the cache's lock, and
# loaded by the others (`make test` spreads all tests over the workers by work stealing).
@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_smoke_profile(path, tmp_path, monkeypatch):
    # Reports and figures go to tmp; the data and model caches under data/ are shared and reused.
    monkeypatch.setenv("XAI_FIGURES_DIR", str(tmp_path / "figures"))
    results, seconds = report.run_notebook(path, "smoke", tmp_path / "reports", {"device": "auto"})
    print(f"{path.stem}: {seconds:.1f} s on smoke")
    assert results.get("notebook") == path.stem, \
        f"{path.name} recorded no results under its own name (call nbu.setup({path.stem!r}, ...))"
    assert results.get("profile") == "smoke"
    assert results["records"], f"{path.name} recorded no key results"
    failed = [claim for claim in results["claims"] if not claim["passed"]]
    assert not failed, f"{path.name}: claims that do not hold: {json.dumps(failed, indent=1)}"
    check_paper_claims(path.stem, results)
    check_exercises(path.stem, results)
    executed = tmp_path / "reports" / f"{path.stem}.ipynb"
    assert executed.stat().st_size < MAX_EXECUTED_BYTES, \
        f"{path.name} executed weighs {executed.stat().st_size / 1e6:.1f} MB (at most 3 MB: fewer or smaller figures)"
    check_results = _notebook_check(path.stem)
    if check_results is not None:
        check_results(results)


def is_paper_notebook(stem: str) -> bool:
    """01-07: the notebooks that reproduce one paper each (not the tour, the benchmark or the explorer)."""
    return stem[:2] in {f"{number:02d}" for number in range(1, 8)}


def check_exercises(stem: str, results: dict) -> None:
    """A paper notebook ends with two or three exercises: each has a question, those answered by a rerun give the
    papermill command with their parameters, and those this run can answer carry an answer with a number."""
    if not is_paper_notebook(stem):
        return
    exercises = results["records"].get("exercises")
    assert exercises and 2 <= len(exercises) <= 3, f"{stem}: needs 2-3 exercises (nbu.answer_exercises)"
    for exercise in exercises:
        assert exercise["question"].endswith("?"), exercise
        if exercise["parameters"]:
            assert exercise["command"].startswith(f"papermill notebooks/{stem}.ipynb "), exercise
            assert all(f"-p {name} " in exercise["command"] for name in exercise["parameters"]), exercise
        if exercise["answered"]:
            assert any(character.isdigit() for character in exercise["answer"]), exercise
    assert any(exercise["answered"] for exercise in exercises), f"{stem}: no exercise is answered by its own run"


@pytest.mark.notebook
def test_exercise_is_answered_when_run_with_its_parameters(tmp_path, monkeypatch):
    """Notebook 01 (the cheapest) rerun with its second exercise's parameters prints that exercise's answer."""
    monkeypatch.setenv("XAI_FIGURES_DIR", str(tmp_path / "figures"))
    path = notebooks_dir() / "01_gax_toy_2d_rotation.ipynb"
    results, _ = report.run_notebook(path, "smoke", tmp_path / "reports", {"device": "auto", "k_eta": 0.6})
    exercise = results["records"]["exercises"][1]
    assert exercise["parameters"] == {"k_eta": 0.6} and exercise["answered"], exercise
    assert "k eta = 0.6" in exercise["answer"], exercise


def declared_claims(stem: str) -> list:
    """The headline claims (of every paper's ``studies/*_claims.py``) that notebook ``stem`` runs."""
    return [claim for module in headline.claims_modules() for claim in module.CLAIMS if claim.notebook == stem]


def check_paper_claims(stem: str, results: dict) -> None:
    """A paper notebook records every headline claim declared for it (none for a notebook of deterministic
    results, which records self-checks), as declared, with its tests and premises (on smoke they may be
    underpowered), and a finding; its secondary rows carry a kind and one of the five
    verdicts. The benchmark (08) records no paper claim: its rows belong to the benchmark."""
    secondary = results.get("paper_claims", [])
    if stem.startswith("08_"):
        assert not secondary and not results.get("headline_claims"), "08's rows are benchmark results, not claims"
        return
    if not is_paper_notebook(stem):
        return
    declared = declared_claims(stem)
    recorded = {row["claim_id"]: row for row in results.get("headline_claims", [])}
    # a notebook of deterministic results (01's toy) runs no claim: it shows them by self-checks
    assert declared or results["claims"], f"{stem} runs no declared headline claim (studies/*_claims.py)"
    for claim in declared:
        row = recorded.get(claim.claim_id)
        assert row is not None, f"{stem} did not record headline claim {claim.paper} {claim.claim_id}"
        assert {key: row[key] for key in claim.as_dict()} == claim.as_dict(), \
            f"{claim.claim_id} differs from its declaration"
        assert row["components"] or row["premises_checked"], f"{claim.claim_id} recorded neither a test nor a premise"
        assert {p["name"] for p in row["premises_checked"]} == set(claim.premises), claim.claim_id
        for component in row["components"]:
            assert component["test"] == claim.test and component["n"] > 0, component
    for row in decide_family(list(recorded.values())):
        assert row["verdict"] in VERDICTS, row
    finding = results["records"].get("finding")
    assert isinstance(finding, str) and any(character.isdigit() for character in finding), \
        f"{stem}: record a `finding`, one sentence printed from the run's numbers"
    for claim in secondary:
        assert claim["kind"] in SECONDARY_KINDS and claim["verdict"] in VERDICTS, claim
        assert claim["paper"] and claim["claim_id"] and claim["claim"] and claim["n"] > 0, claim
        assert claim["ci_low"] <= claim["difference"] <= claim["ci_high"], claim
        assert claim["ours"].startswith(claim["verdict"]), claim


# ---------------------------------------------------------------- the runner itself

def _write_notebook(path, *cell_sources):
    """A throwaway notebook: a parameters cell, then the given code cells."""
    cells = [nbformat.v4.new_code_cell('profile = "default"\ndevice = "auto"\nseed = 0',
                                       metadata={"tags": ["parameters"]})]
    cells += [nbformat.v4.new_code_cell(source) for source in cell_sources]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


RECORDING_CELL = """
from xai_nb_utils.core.results import Recorder
recorder = Recorder("{stem}", profile=profile)
recorder.record("answer", 42)
recorder.claim("the answer is even", True, "42 % 2 == 0")
"""


def test_runner_stops_at_first_failing_notebook_naming_notebook_and_cell(tmp_path, capsys):
    notebooks, reports = tmp_path / "notebooks", tmp_path / "reports"
    notebooks.mkdir()
    _write_notebook(notebooks / "01_fine.ipynb", RECORDING_CELL.format(stem="01_fine"))
    _write_notebook(notebooks / "02_broken.ipynb", "x = 1", "raise ValueError('deliberate failure')", "y = 2")
    _write_notebook(notebooks / "03_never_run.ipynb", "z = 3")

    exit_code = report.run_all("smoke", notebooks_dir=notebooks, output_dir=reports)

    assert exit_code != 0
    error_text = capsys.readouterr().err
    assert "02_broken.ipynb" in error_text
    assert "ValueError: deliberate failure" in error_text
    # papermill inserts the injected-parameters cell, so the failing cell is index 3 in the executed notebook
    assert "failed in cell 3" in error_text and "raise ValueError" in error_text
    assert (reports / "01_fine.html").exists() and (reports / "02_broken.html").exists()
    assert not (reports / "03_never_run.ipynb").exists()
    index = (reports / "index.html").read_text()
    assert '<a href="01_fine.html">' in index and "answer" in index and "the answer is even" in index
    assert "not run yet" in index  # 03_never_run


def test_run_notebook_passes_parameters_and_returns_results(tmp_path):
    path = tmp_path / "01_params.ipynb"
    _write_notebook(path, RECORDING_CELL.format(stem="01_params") + "recorder.record('n', n)\n"
                    "import os\nrecorder.record('headless', os.environ['XAI_HEADLESS'])")
    results, seconds = report.run_notebook(path, "smoke", tmp_path / "reports", {"n": 7})
    assert results["profile"] == "smoke"
    assert results["records"] == {"answer": 42, "n": 7, "headless": "1"}
    assert results["claims"] == [{"name": "the answer is even", "passed": True, "detail": "42 % 2 == 0"}]
    assert seconds > 0


def test_runner_rejects_unknown_profile_and_parses_parameters(tmp_path):
    with pytest.raises(ValueError, match="profile"):
        report.run_notebook(tmp_path / "x.ipynb", "huge", tmp_path)
    assert report.parse_parameter("n_images=8") == ("n_images", 8)
    assert report.parse_parameter("method=gradcam") == ("method", "gradcam")
    assert report.parse_parameter("sizes=[1, 2]") == ("sizes", [1, 2])
