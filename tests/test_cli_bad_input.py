"""Bad command lines (issue 17, item 5): one line on stderr, exit code 2, before TensorFlow
loads where the check needs no model, and nothing created or overwritten."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from textgan_lib import cascade, cli, config
from textgan_lib.callbacks import GANCheckpoint

REPO = Path(__file__).resolve().parents[1]


def _snapshot(root: Path) -> dict:
    """Every path under ``root`` (``root`` too) with its bytes (files) and mtime."""
    paths = [root, *sorted(root.rglob("*"))] if root.exists() else []
    return {p: (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns) for p in paths}


def _one_line(err: str, command: str) -> str:
    """``err`` must be one line that starts with ``textgan COMMAND: ``; returns it."""
    assert err.startswith(f"textgan {command}: ") and err.endswith("\n"), err
    assert err.count("\n") == 1, err
    return err


@pytest.fixture
def no_tensorflow(monkeypatch):
    """Fail the test if the CLI gets as far as loading TensorFlow."""
    def loaded():
        raise AssertionError("the CLI loaded TensorFlow before refusing the command line")
    monkeypatch.setattr(config, "import_tensorflow", loaded)
    monkeypatch.delenv("TEXTGAN_MODE", raising=False)


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(cascade, "train_cascade", lambda **kw: seen.append(kw) or {})
    return seen


@pytest.fixture
def finished_run(tmp_path) -> Path:
    """An output directory as a finished ``textgan train`` leaves it (stand-in files)."""
    out = tmp_path / "run"
    (out / "cascade").mkdir(parents=True)
    for name in ("generator.keras", "superres.keras", "cascade.json"):
        (out / "cascade" / name).write_bytes(b"trained " + name.encode())
    (out / "report.json").write_text('{"gan_epochs": 24}\n')
    return out


# --- generate -o / --base-output ------------------------------------------------------------

def test_generate_refuses_an_output_that_is_a_directory(tmp_path, no_tensorflow, capsys):
    target = tmp_path / "pictures"
    target.mkdir()
    (target / "old.png").write_bytes(b"old")
    before = _snapshot(tmp_path)
    assert cli.main(["generate", "red apple", "-o", str(target)]) == 2
    err = _one_line(capsys.readouterr().err, "generate")
    assert f"-o {target} is a directory" in err and "give a file name" in err
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("flag", ["-o", "--base-output"])
def test_generate_refuses_an_output_below_a_regular_file(tmp_path, no_tensorflow, capsys, flag):
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me\n")
    before = _snapshot(tmp_path)
    argv = ["generate", "red apple", flag, str(notes / "sub" / "x.png")]
    if flag != "-o":
        argv += ["-o", str(tmp_path / "ok.png")]
    assert cli.main(argv) == 2
    err = _one_line(capsys.readouterr().err, "generate")
    assert f"{flag} {notes / 'sub' / 'x.png'} cannot be created" in err
    assert f"{notes} is a file, not a directory" in err and "choose another path" in err
    assert _snapshot(tmp_path) == before


def test_generate_refuses_an_output_in_proc(no_tensorflow, capsys):
    assert cli.main(["generate", "red apple", "-o", "/proc/x.png"]) == 2
    err = _one_line(capsys.readouterr().err, "generate")
    assert "-o /proc/x.png cannot be created: no file can be made in /proc" in err
    assert "choose a directory you can write to" in err
    assert not os.path.lexists("/proc/x.png")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_generate_refuses_an_output_in_a_read_only_directory(tmp_path, no_tensorflow, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        before = _snapshot(tmp_path)
        assert cli.main(["generate", "red apple", "-o", str(locked / "new" / "x.png")]) == 2
        err = _one_line(capsys.readouterr().err, "generate")
        assert f"no file can be made in {locked}" in err and "Permission denied" in err
        assert _snapshot(tmp_path) == before
    finally:
        locked.chmod(0o755)


def test_generate_refuses_a_negative_seed(tmp_path, no_tensorflow, capsys):
    out = tmp_path / "x.png"
    assert cli.main(["generate", "red apple", "--seed", "-1", "-o", str(out)]) == 2
    err = _one_line(capsys.readouterr().err, "generate")
    assert "--seed must be a whole number >= 0, got -1" in err
    assert list(tmp_path.iterdir()) == []


def test_generate_refuses_an_empty_caption_before_tensorflow(tmp_path, no_tensorflow, capsys):
    assert cli.main(["generate", "  ", "-o", str(tmp_path / "x.png")]) == 2
    assert "the caption is empty" in _one_line(capsys.readouterr().err, "generate")
    assert list(tmp_path.iterdir()) == []


# --- train ----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--batch-size", "0"], "--batch-size must be a positive whole number, got 0"),
    (["--epochs", "-1"], "--epochs must be a positive whole number, got -1"),
    (["--epochs", "0"], "--epochs must be a positive whole number, got 0"),
    (["--lr", "-1"], "--lr must be > 0, got -1.0"),
    (["--lr", "nan"], "--lr must be > 0, got nan"),
    (["--lr", "inf"], "--lr must be > 0, got inf"),
])
def test_train_refuses_bad_numbers_and_leaves_a_finished_run_alone(
        finished_run, calls, no_tensorflow, capsys, argv, message):
    before = _snapshot(finished_run)
    assert cli.main(["train", "--out", str(finished_run), *argv]) == 2
    assert message in _one_line(capsys.readouterr().err, "train")
    assert calls == [] and _snapshot(finished_run) == before


def test_train_refuses_an_out_that_is_a_regular_file(tmp_path, calls, no_tensorflow, capsys):
    report = tmp_path / "report.json"
    report.write_text('{"gan_epochs": 24}\n')
    before = _snapshot(tmp_path)
    assert cli.main(["train", "--out", str(report)]) == 2
    err = _one_line(capsys.readouterr().err, "train")
    assert f"--out {report} is a file, not a directory" in err and "choose a directory" in err
    assert calls == [] and _snapshot(tmp_path) == before


def test_train_refuses_an_out_below_a_regular_file(tmp_path, calls, no_tensorflow, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me\n")
    before = _snapshot(tmp_path)
    assert cli.main(["train", "--out", str(notes / "run")]) == 2
    err = _one_line(capsys.readouterr().err, "train")
    assert f"{notes} is a file, not a directory" in err
    assert calls == [] and _snapshot(tmp_path) == before


# --- TEXTGAN_MODE (a real process: the variable and the import of TensorFlow matter) ----------

_RUN = ("import sys; from textgan_lib.cli import main; rc = main(sys.argv[1:]); "
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was loaded'; sys.exit(rc)")


@pytest.mark.parametrize("command", ["generate", "train"])
def test_an_unknown_textgan_mode_is_refused_before_tensorflow(tmp_path, command):
    out = tmp_path / "new"
    argv = (["generate", "red apple", "-o", str(out / "x.png")] if command == "generate"
            else ["train", "--out", str(out)])
    env = {**os.environ, "TEXTGAN_MODE": "nonsense"}
    result = subprocess.run([sys.executable, "-c", _RUN, *argv], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    err = _one_line(result.stderr, command)
    assert "TEXTGAN_MODE='nonsense' is not a run mode" in err
    assert "smoke, course, full" in err and "unset it" in err
    assert list(tmp_path.iterdir()) == []


def test_python_m_textgan_lib_gives_the_same_one_line_refusal(tmp_path):
    env = {**os.environ, "TEXTGAN_MODE": "nonsense"}
    result = subprocess.run([sys.executable, "-m", "textgan_lib", "generate", "x"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "smoke, course, full" in _one_line(result.stderr, "generate")
    assert list(tmp_path.iterdir()) == []


# --- a corrupt checkpoint -------------------------------------------------------------------

class _Variables:
    """Stands in for a TextGAN: just the variables a checkpoint holds."""

    def checkpoint_variables(self):
        return [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(1000, np.float32)]


def _checkpoint(directory: Path, damage: str) -> Path:
    """A real ``checkpoint.npz`` in ``directory``, then damaged: ``truncated``, ``garbage`` or
    ``empty``."""
    path = GANCheckpoint(_Variables(), directory).save(1)
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"not a zip " * 50,
                      "empty": b""}[damage])
    return path


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_corrupt_checkpoint_is_a_value_error_that_says_what_to_do(tmp_path, damage):
    path = _checkpoint(tmp_path / "checkpoints", damage)
    with pytest.raises(ValueError) as caught:
        GANCheckpoint(_Variables(), tmp_path / "checkpoints").restore()
    message = str(caught.value)
    assert f"the checkpoint {path} is unreadable" in message and "\n" not in message
    assert "Delete it" in message and "another output directory (--out)" in message


def test_train_with_a_corrupt_checkpoint_exits_2_and_keeps_it(finished_run, monkeypatch,
                                                             capsys):
    path = _checkpoint(finished_run / "checkpoints", "truncated")
    before = _snapshot(finished_run)

    def train_cascade(out_dir, **kwargs):    # what train_cascade -> fit_gan does first
        GANCheckpoint(_Variables(), Path(out_dir) / "checkpoints").restore()
    monkeypatch.setattr(cascade, "train_cascade", train_cascade)
    monkeypatch.setattr(config, "import_tensorflow", lambda: None)
    assert cli.main(["train", "--out", str(finished_run), "--mode", "smoke"]) == 2
    err = _one_line(capsys.readouterr().err, "train")
    assert f"the checkpoint {path} is unreadable" in err and "Delete it" in err
    assert _snapshot(finished_run) == before


# --- Cascade.save is atomic -----------------------------------------------------------------

def _tiny_cascade(run_mode: str) -> cascade.Cascade:
    from textgan_lib.models import build_generator, build_superres

    return cascade.Cascade(build_generator(384, base_filters=8, text_features=16),
                           build_superres(filters=8, num_blocks=1), run_mode=run_mode)


def test_cascade_save_replaces_the_old_cascade_and_keeps_other_files(tmp_path):
    target = tmp_path / "cascade"
    target.mkdir()
    (target / "cascade.json").write_text('{"run_mode": "old"}\n')
    (target / "README.md").write_text("notes\n")
    assert _tiny_cascade("course").save(target) == target
    assert '"run_mode": "course"' in (target / "cascade.json").read_text()
    assert (target / "generator.keras").stat().st_size > 0
    assert (target / "superres.keras").stat().st_size > 0
    assert (target / "README.md").read_text() == "notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cascade"]   # no temporary left


def test_cascade_save_killed_halfway_leaves_the_previous_cascade(tmp_path, monkeypatch):
    target = tmp_path / "cascade"
    _tiny_cascade("course").save(target)
    before = _snapshot(target)
    fresh = _tiny_cascade("full")

    def killed(*args, **kwargs):             # stands in for a kill in the middle of the save
        raise KeyboardInterrupt
    monkeypatch.setattr(fresh.superres, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        fresh.save(target)
    assert _snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cascade"]


# --- --version, --help and argparse's own errors --------------------------------------------

def test_version(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"textgan {metadata.version('textgan-lib')}\n"


def test_version_of_a_source_tree_that_is_not_installed(monkeypatch, capsys):
    import textgan_lib

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(metadata, "version", not_installed)
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out == f"textgan {textgan_lib.__version__}\n"


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["generate", "--help"]])
def test_help_shows_no_restructured_text(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: textgan")
    for markup in ("``", ":func:", ":class:", ":mod:", ":meth:"):
        assert markup not in out


@pytest.mark.parametrize("argv, words", [
    (["generate", "x", "--seed", "abc"], "invalid int value: 'abc'"),
    (["train", "--epochs", "many"], "invalid int value: 'many'"),
    (["train", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_argparse_errors_are_one_line_too(capsys, argv, words):
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "--help" in err


# --- rerunning a finished run ---------------------------------------------------------------

def _finished_emoji_run(directory, epochs=3):
    """What a finished course-mode ``textgan train --recipe emoji`` leaves, minus the weights."""
    from dataclasses import asdict

    from textgan_lib import config, recipes

    recipe = json.loads(json.dumps(recipes.EMOJI))
    options = {**recipe["gan"], "learning_rate": recipe["learning_rate"],
               "standardize_text": False, "generator": recipe["generator"],
               "discriminator": recipe["discriminator"], "superres": recipe["superres"],
               "lr_decay_start": recipe["lr_decay_start"]}
    report = {"mode": "course", "data": "emoji", "config": asdict(config.get_config("course")),
              "gan_options": options, "gan_epochs": epochs, "batch_size": 64,
              "seconds": {"total": 1234.5}, "superres": {"psnr_gain": 5.0}}
    (directory / "cascade").mkdir(parents=True)
    (directory / "cascade" / "cascade.json").write_text("{}\n")
    (directory / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def test_rerunning_a_finished_train_does_nothing_and_keeps_the_report(tmp_path, monkeypatch,
                                                                       capsys):
    from textgan_lib import cascade, recipes, text

    report = _finished_emoji_run(tmp_path)
    before = _snapshot(tmp_path)
    monkeypatch.setattr(text, "TextEncoder", lambda *a, **k: pytest.fail("loaded the encoder"))
    again = cascade.train_cascade(out_dir=tmp_path, epochs=3, recipe=recipes.EMOJI,
                                  mode="course")
    assert again == report and _snapshot(tmp_path) == before
    out = capsys.readouterr().out
    assert "already holds this run, finished (3 epochs" in out
    assert "use a new --out." in out and "larger --epochs" not in out   # the lr decays


@pytest.mark.parametrize("change", ["epochs", "mode", "report", "cascade"])
def test_a_different_or_unfinished_run_is_not_taken_for_the_finished_one(tmp_path, change):
    report = _finished_emoji_run(tmp_path)
    asked = dict(report)
    if change == "epochs":
        asked["gan_epochs"] = 4                  # another length: not the finished run
    elif change == "mode":
        asked["mode"] = "full"
    elif change == "report":
        (tmp_path / "report.json").write_text("{not json")
    else:                                       # killed before the cascade was saved
        (tmp_path / "cascade" / "cascade.json").unlink()
    assert cascade.finished_report(tmp_path, asked) is None


@pytest.mark.parametrize("argv, expected", [
    (["evaluate", "--model", "no/such/dir"], "--model no/such/dir: no saved cascade there"),
    (["evaluate", "--json", "."], "--json . is a directory; give a file name such as"),
])
def test_evaluate_refuses_bad_input_before_tensorflow(argv, expected, no_tensorflow, capsys):
    assert cli.main(argv) == 2
    err = _one_line(capsys.readouterr().err, "evaluate")
    assert expected in err


def test_evaluate_writes_the_table_and_json_of_the_evaluation(tmp_path, monkeypatch, capsys):
    from textgan_lib import evaluation

    row = {"fid_val": 0.36, "fid_std": 0.06, "kid_val": 6.7e-4, "kid_std": 1e-4,
           "r1_train": 0.66, "r1_train_ci": (0.61, 0.70), "r1_val": 0.37,
           "r1_val_ci": (0.33, 0.42), "is_val": 57.6, "is_std": 2.2}
    result = {"rows": {"real images": row, "data/pretrained": row}, "n_train": 400,
              "n_val": 402, "candidates": 100, "noise_seed": 42}
    seen = []
    monkeypatch.setattr(config, "import_tensorflow", lambda: None)
    monkeypatch.setattr(evaluation, "evaluate_cascades", lambda dirs: seen.append(dirs) or result)
    out_file = tmp_path / "e.json"
    assert cli.main(["evaluate", "--json", str(out_file)]) == 0
    assert seen == [[config.DATA_DIR / "pretrained"]]          # the shipped cascade by default
    printed = capsys.readouterr().out
    assert "0.36 ± 0.06" in printed and "0.67 ± 0.10" in printed     # KID x 1000
    assert "0.660 [0.61, 0.70]" in printed and "57.6 ± 2.2" in printed
    assert json.loads(out_file.read_text())["rows"]["data/pretrained"]["r1_val"] == 0.37


@pytest.mark.parametrize("argv, expected", [
    (["train", "--model", "diffusion", "--data", "shapes"],
     "--model diffusion trains on the emoji only"),
    (["train", "--model", "diffusion", "--epochs", "3", "--lr", "1e-3"],
     "drop --lr, --epochs"),
    (["train", "--model", "diffusion", "--recipe", "emoji"], "drop --recipe"),
])
def test_train_diffusion_refuses_gan_flags_before_tensorflow(argv, expected, no_tensorflow,
                                                             tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(argv + ["--out", str(out)]) == 2
    assert expected in _one_line(capsys.readouterr().err, "train")
    assert not out.exists()


def test_generate_with_a_missing_diffusion_directory_fails_with_one_line(tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.setattr("textgan_lib.diffusion_cascade.PRETRAINED_DIR", tmp_path / "none")
    monkeypatch.setattr(config, "output_dir", lambda: tmp_path / "outputs")
    assert cli.main(["generate", "red apple", "--model", "diffusion", "-o",
                     str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert "holds no diffusion cascade" in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()
