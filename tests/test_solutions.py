"""The reference solutions in ``notebooks/solutions/`` pass their notebook's checkers, and a
blank answer (the state every exercise cell is committed in) prints "not attempted yet" and
returns False without raising (issue 16). Wrong answers and their hints: ``test_checks*.py``."""
from __future__ import annotations

import numpy as np
import pytest
from _solutions import solution as _solution
from test_checks import _Pairs  # the stand-in for EmojiSet of the 00 checker tests

from textgan_lib.checks import cascade_demo, discriminator, evaluation, generator, losses
from textgan_lib.checks import overview
from textgan_lib.checks import super_resolution, text_embeddings, training


def blank(*args):  # an exercise function whose body is still `...`
    ...


def _val_of(pairs):
    from textgan_lib.data.emoji import split_of

    class Val:
        captions = [c for c in pairs.captions if split_of(c) == "val"]
    return Val


def _search(query, k):  # a fake search: "medical" ranks the ambulance first
    order = [1, 0, 2] if "medical" in query else [0, 1, 2]
    return np.array(order[:k]), np.array([0.9, 0.8, 0.7][:k])


def _generator():
    from textgan_lib.models import build_generator

    return build_generator(text_dim=8, z_dim=4, image_size=8, base_filters=128,
                           text_features=3, fusion="film")


def _cases():
    """(id, checker, solution answer, extra arguments) for every exercise of notebooks 00-08."""
    s00, s01, s02 = (_solution(n) for n in ("00_overview", "01_text_embeddings", "02_generator"))
    s03, s04 = _solution("03_super_resolution"), _solution("04_discriminator")
    s05, s06 = _solution("05_losses_and_derivations"), _solution("06_training")
    s05b = _solution("05b_stable_losses_and_penalties")
    s07, s08 = _solution("07_cascade_demo"), _solution("08_evaluation")
    pairs, images = _Pairs(), np.array([[[[0, 128, 255]]]], dtype=np.uint8)
    a, b = np.array([3.0, 0.0, 4.0]), np.array([1.0, 2.0, 2.0])
    captions = ["automobile", "ambulance", "police car"]
    return [
        ("00-1", overview.pixels_to_model_inputs, s00.exercise_1(images), (images,)),
        ("00-2", overview.faces_in_validation, s00.exercise_2(_val_of(pairs)), (pairs,)),
        ("00-3", overview.find_pair, s00.exercise_3(pairs), (pairs,)),
        ("01-1", text_embeddings.masked_mean, s01.my_masked_mean, ()),
        ("01-2", text_embeddings.cosine, s01.exercise_2(a, b), (a, b)),
        ("01-3", text_embeddings.beat_the_search, s01.my_query, (_search, captions)),
        ("02-1", generator.kl_divergence, s02.my_kl, ()),
        ("02-2", generator.projection_weights, s02.exercise_2(4), (_generator(),)),
        ("02-3", generator.film, s02.my_film, ()),
        ("03-1", super_resolution.psnr, s03.my_psnr, ()),
        ("03-2", super_resolution.depth_to_space, s03.my_depth_to_space, ()),
        ("03-3", super_resolution.conv_params, s03.my_conv_params, ()),
        ("04-1", discriminator.projection_logit, s04.my_projection_logit, ()),
        ("04-2", discriminator.wrong_captions, s04.my_wrong_indices, ()),
        ("04-3", discriminator.pair_targets, s04.my_targets, ()),
        ("05-1", losses.optimal_discriminator, s05.my_optimal_d, ()),
        ("05-2", losses.generator_gradient, s05.my_dloss_ds, ()),
        ("05b-1", losses.discriminator_loss, s05b.my_d_loss, ()),
        ("05b-2", losses.r1_penalty, s05b.my_r1, ()),
        ("06-1", training.ema_update, s06.my_ema, ()),
        ("06-2", training.frechet_1d, s06.my_frechet_1d, ()),
        ("06-3", training.fid_from_features, s06.my_fid, ()),
        ("07-1", cascade_demo.slerp, s07.my_slerp, ()),
        ("07-2", cascade_demo.truncate, s07.my_truncate, ()),
        ("07-3", cascade_demo.noise_augment, s07.my_noise_augment, ()),
        ("08-1", evaluation.mmd2, s08.my_mmd2, ()),
        ("08-2", evaluation.inception_score, s08.my_inception_score, ()),
        ("08-3", evaluation.paired_interval, s08.my_paired_interval, ()),
    ]


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_reference_solution_passes(case, capsys):
    _, checker, answer, args = case
    assert checker(answer, *args) is True
    assert ": correct" in capsys.readouterr().out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_blank_answer_is_not_attempted(case, capsys):
    _, checker, answer, args = case
    if callable(answer):
        blank_answer = blank
    elif isinstance(answer, dict):
        blank_answer = {key: ... for key in answer}
    else:
        blank_answer = ...
    assert checker(blank_answer, *args) is False
    out = capsys.readouterr().out
    assert out.startswith(f"Exercise {case[0][-1]}: not attempted yet")
    assert "correct" not in out


def test_a_function_that_forgets_return_is_told_so(capsys):
    def my_film(x, gamma, beta):
        x * (1 + gamma[:, None, None, :]) + beta[:, None, None, :]   # no return

    assert generator.film(my_film) is False
    assert "returns None" in capsys.readouterr().out


def test_wrong_answers_still_fail_with_a_hint():
    from textgan_lib.checks import CheckFailed

    with pytest.raises(CheckFailed, match="1 \\+ gamma"):
        generator.film(lambda x, g, b: x * g[:, None, None, :] + b[:, None, None, :])
    with pytest.raises(CheckFailed, match="real_wrong must be 0"):
        discriminator.pair_targets({"real_right": 1, "real_wrong": 1, "fake_right": 0})
