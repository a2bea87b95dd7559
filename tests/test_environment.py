"""environment.yml (conda) and pyproject.toml must list the same dependencies."""
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from xai_nb_utils.core.paths import repo_root


def _normalised(requirements) -> dict[str, str]:
    parsed = [Requirement(text) for text in requirements]
    return {canonicalize_name(r.name): str(r.specifier) for r in parsed}


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((repo_root() / "pyproject.toml").read_text())["project"]
    extras = [req for group in project.get("optional-dependencies", {}).values() for req in group]
    return _normalised(project["dependencies"] + extras)


def _environment() -> dict:
    return yaml.safe_load((repo_root() / "environment.yml").read_text())


def _environment_pip_section() -> list[str]:
    pip_sections = [item["pip"] for item in _environment()["dependencies"] if isinstance(item, dict)]
    assert len(pip_sections) == 1, "environment.yml needs exactly one `pip:` section"
    return pip_sections[0]


def test_environment_installs_python_311_pip_and_the_project():
    conda_packages = [item for item in _environment()["dependencies"] if isinstance(item, str)]
    assert "python=3.11" in conda_packages
    assert "pip" in conda_packages
    assert "-e .[dev]" in _environment_pip_section()


def test_environment_and_pyproject_list_the_same_dependencies():
    pip_requirements = [line for line in _environment_pip_section() if not line.startswith("-")]
    assert _normalised(pip_requirements) == _pyproject_requirements()
