"""Run modes: one variable, three modes, same shapes in all of them."""
import pytest

from textgan_lib import config


def test_default_mode_is_course(monkeypatch):
    monkeypatch.delenv("TEXTGAN_MODE", raising=False)
    assert config.get_mode() == "course"
    assert config.get_config().mode == "course"


@pytest.mark.parametrize("mode", config.MODES)
def test_each_mode_is_read_from_the_environment(monkeypatch, mode):
    monkeypatch.setenv("TEXTGAN_MODE", f" {mode.upper()} ")
    assert config.get_mode() == mode


def test_unknown_mode_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TEXTGAN_MODE", "fast")
    with pytest.raises(ValueError, match="smoke, course, full"):
        config.get_mode()


def test_modes_change_length_not_shapes():
    configs = [config.get_config(m) for m in config.MODES]
    assert len({c.batch_size for c in configs}) == 1          # same tensor shapes everywhere
    smoke, course, full = configs
    assert smoke.gan_epochs <= course.gan_epochs <= full.gan_epochs
    assert smoke.max_train_images < 3000 and course.max_train_images is None
    assert config.SR_SCALE * config.BASE_SIZE == config.HIGH_SIZE


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TEXTGAN_CACHE_DIR", str(tmp_path / "c"))
    assert config.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_environment_yml_installs_the_package_with_its_own_pins():
    """environment.yml installs `-e .[dev]`, so its dependency list cannot drift from
    pyproject.toml's (issue 17)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "environment.yml").read_text()
    pip_lines = [line.strip() for line in text.splitlines() if line.strip().startswith("- \"")]
    assert pip_lines == ['- "-e .[dev]"   # the pins and tools of pyproject.toml, so this list '
                         'cannot drift']
