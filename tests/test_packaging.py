"""pyproject.toml is the single source of dependencies; environment.yml must not drift from it."""

from __future__ import annotations

import re

import tomllib
import yaml
from notebook_utils import ROOT

# conda-forge spells a few PyPI names differently.
CONDA_NAME = {"torch": "pytorch"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def _runtime_and_lab():
    project = _pyproject()
    return project["dependencies"] + project["optional-dependencies"]["lab"]


def test_environment_yml_lists_the_runtime_dependencies():
    wanted = {CONDA_NAME.get(_name(r), _name(r)) for r in _runtime_and_lab()}
    deps = _environment()["dependencies"]
    conda = {_name(d) for d in deps if isinstance(d, str)} - {"python", "pip"}
    assert conda == wanted, (
        f"only in environment.yml: {conda - wanted}; only in pyproject: {wanted - conda}"
    )


def test_environment_yml_version_floors_match():
    floors = {}
    for r in _runtime_and_lab():
        m = re.search(r">=\s*([\w.]+)", r)
        if m:
            floors[CONDA_NAME.get(_name(r), _name(r))] = m.group(1)
    for d in _environment()["dependencies"]:
        if isinstance(d, str) and _name(d) in floors:
            assert f">={floors[_name(d)]}" in d.replace(" ", ""), (
                f"{d!r}: floor differs from pyproject"
            )


def test_environment_yml_is_conda_forge_only_and_installs_the_package():
    env = _environment()
    assert env["channels"] == ["conda-forge", "nodefaults"]
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_sections == [["-e ."]]


def test_dev_extra_has_the_test_tools():
    dev = {_name(r) for r in _pyproject()["optional-dependencies"]["dev"]}
    assert {"pytest", "playwright", "ruff", "pytorch-metric-learning"} <= dev
    assert "nbclient" in dev or "nbmake" in dev


def test_python_floor():
    assert _pyproject()["requires-python"] == ">=3.10"


def test_the_package_installs_into_an_existing_kernel():
    # no Jupyter server or optional backend among the runtime dependencies: `pip install` into
    # Colab, JupyterHub or VS Code must not pull in (or upgrade) a JupyterLab
    runtime = {_name(r) for r in _pyproject()["dependencies"]}
    assert not {"jupyterlab", "notebook", "ipympl"} & runtime, runtime
    extras = _pyproject()["optional-dependencies"]
    assert {_name(r) for r in extras["lab"]} == {"jupyterlab"}
    assert {_name(r) for r in extras["ipympl"]} == {"ipympl"}
    assert {"jupyterlab", "ipympl"} <= {_name(r) for r in extras["dev"]}  # the browser tests


def test_make_lab_installs_the_lab_extra():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    base = makefile.split("$(BASE_STAMP):", 1)[1].split("\n\n", 1)[0]
    assert '-e ".[lab]"' in base, base
