"""The package's dependency rules (pyproject.toml, [tool.importlinter]) hold."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_method_module_registers_through_the_explicit_import_list():
    from xai_nb_utils.methods import available_methods

    paper_methods = {"gax", "igos", "igos_pp", "opticam", "dre", "mgnet", "mpert", "g3", "ggig", "geg"}
    assert paper_methods <= set(available_methods())
