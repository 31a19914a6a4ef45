"""KID, Inception Score, bootstrap intervals and FID's bias curve on known cases."""
from __future__ import annotations

import numpy as np
import pytest

from textgan_lib import evaluation as ev


def _brute_mmd2(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1.0) ** 3          # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_mmd2_equals_the_brute_force_sums():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(1.0, 2.0, size=(9, 3))
    assert ev.polynomial_mmd2(x, y) == pytest.approx(_brute_mmd2(x, y), rel=1e-10)


def test_kid_of_two_gaussians_matches_the_closed_form():
    # d = 1: k(x, y) = (xy + 1)^3 = x^3 y^3 + 3 x^2 y^2 + 3 xy + 1, so for independent draws
    # MMD^2 = (E x^3 - E y^3)^2 + 3 (E x^2 - E y^2)^2 + 3 (E x - E y)^2.
    # N(0, 1): moments 0, 1, 0; N(1, 1): 1, 2, 4  ->  16 + 3 + 3 = 22.
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, (8000, 1)), rng.normal(1, 1, (8000, 1))
    out = ev.kid(x, y, num_subsets=20, subset_size=4000)
    assert out["kid"] == pytest.approx(22.0, rel=0.08)
    assert out["subset_size"] == 4000 and out["num_subsets"] == 20


def test_kid_of_one_distribution_is_about_zero_and_can_be_negative():
    rng = np.random.default_rng(2)
    values = [ev.polynomial_mmd2(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)))
              for _ in range(200)]
    assert abs(np.mean(values)) < 3 * np.std(values) / np.sqrt(len(values))   # unbiased
    assert min(values) < 0 < max(values)
    # A set against itself: the cross term keeps the m terms k(x_i, x_i), the others drop
    # them, so MMD^2 = 2 (mean off-diagonal k - mean diagonal k) / m: slightly below 0.
    same = rng.normal(size=(300, 8))
    k = (same @ same.T / 8 + 1) ** 3
    off = (k.sum() - np.trace(k)) / (300 * 299)
    want = 2 * (off - np.trace(k) / 300) / 300
    assert ev.polynomial_mmd2(same, same) == pytest.approx(want, rel=1e-9)
    assert -0.1 < want < 0
    # KID draws two half-size subsets of the one set; the points they share bring their
    # k(x, x) into the cross term, so KID of a set against itself is below 0 too
    out = ev.kid(same, same, num_subsets=50)
    assert out["subset_size"] == 150 and -0.1 < out["kid"] < 0


def test_inception_score_is_one_for_uniform_and_k_for_confident_balanced_predictions():
    assert ev.inception_score(np.full((100, 7), 1 / 7), splits=10)["is"] == pytest.approx(1.0)
    confident = np.eye(5)[np.tile(np.arange(5), 20)]           # 100 images, 5 classes, 20 each
    out = ev.inception_score(confident, splits=10)
    assert out["is"] == pytest.approx(5.0) and out["is_std"] == pytest.approx(0.0, abs=1e-12)
    one_class = np.eye(5)[np.zeros(100, int)]                  # every image the same class
    assert ev.inception_score(one_class, splits=10)["is"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        ev.inception_score(np.ones((10, 3)))


def test_caption_probabilities_are_a_softmax_of_cosines_over_temperature():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    p = ev.caption_probabilities(a, b, temperature=0.5)
    cos = np.array([[1, 0, 2 ** -0.5], [0, 1, 2 ** -0.5]])
    want = np.exp(cos / 0.5) / np.exp(cos / 0.5).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p, want, rtol=1e-12)


def test_generic_bootstrap_interval_contains_the_inception_score():
    rng = np.random.default_rng(6)
    p = rng.dirichlet(np.full(20, 0.2), size=300)
    lo, hi = ev.bootstrap_interval(lambda q: ev.inception_score(q, 1)["is"], p,
                                   num_resamples=200)
    assert lo < ev.inception_score(p, 1)["is"] < hi


def test_bootstrap_std_of_a_mean_is_its_standard_error():
    values = np.random.default_rng(11).normal(size=400)
    se = values.std() / np.sqrt(400)
    assert ev.bootstrap_std(np.mean, values, num_resamples=1000) == pytest.approx(se, rel=0.1)


def test_bootstrap_interval_of_a_mean_contains_the_full_sample_value():
    hits = (np.random.default_rng(3).random(400) < 0.3).astype(float)
    lo, hi = ev.bootstrap_mean_interval(hits)
    assert lo < hits.mean() < hi
    assert 0.05 < hi - lo < 0.12            # about 2 x 1.96 x sqrt(0.3 x 0.7 / 400) = 0.090


def test_fid_bootstrap_interval_contains_the_full_sample_fid_of_different_sets():
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(400, 4)), rng.normal(0.5, 1.0, size=(400, 4))
    out = ev.fid_bootstrap(real, fake, num_resamples=200)
    assert out["low"] < out["fid"] < out["high"]
    assert out["fid"] == pytest.approx(ev.fid_from_features(real, fake))


def test_fid_of_one_distribution_falls_as_the_sample_grows():
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
    curve = ev.fid_curve(real, fake, [50, 200, 800, 2000], repeats=3)
    assert curve["n"] == [50, 200, 800, 2000]
    assert all(a > b for a, b in zip(curve["fid"], curve["fid"][1:]))
    assert curve["fid"][-1] < 0.1 * curve["fid"][0]
    # FID is about a + b / n: the intercept (FID_inf) of one distribution is about 0
    assert abs(ev.fid_infinity(curve)) < 0.05 * curve["fid"][0]
    assert ev.fid_infinity({"n": [10, 20], "fid": [3.0, 2.0]}) == pytest.approx(1.0)


def test_display_name_is_relative_to_the_repository(tmp_path):
    from textgan_lib import config

    assert ev.display_name(config.DATA_DIR / "pretrained" / "skeleton") == \
        "data/pretrained/skeleton"
    assert ev.display_name(tmp_path) == str(tmp_path)


def test_evaluate_cascades_scores_the_shipped_cascade_as_recognizability_does():
    from textgan_lib.cascade import PRETRAINED_DIR

    result = ev.evaluate_cascades([PRETRAINED_DIR])
    real, ours = result["rows"]["real images"], result["rows"]["data/pretrained"]
    assert (result["n_train"], result["n_val"]) == (400, 402)
    # the same protocol as bench/recognizability.py (bench/results/recognizability.json)
    assert real["r1_train"] == pytest.approx(0.868, abs=0.002)
    assert ours["r1_train"] == pytest.approx(0.660, abs=0.005)
    assert ours["r1_val"] == pytest.approx(0.371, abs=0.005)
    assert ours["fid_val"] == pytest.approx(0.36, abs=0.01)
    for row in (real, ours):
        for key in ("r1_train", "r1_val"):
            lo, hi = row[f"{key}_ci"]
            assert lo <= row[key] <= hi
        assert 1.0 < row["is_val"] < 402                  # IS lies between 1 and the classes
        assert row["kid_std"] > 0 and row["fid_std"] > 0 and row["is_std"] > 0
        # resampling with replacement shrinks the sample: bootstrap FIDs run high (FID's bias)
        assert row["fid_resampled"][0] > row["fid_val"]


def test_inception_features_pipeline_with_random_weights():
    """The online FID path (Colab downloads the ImageNet weights), offline: shapes, the input
    range (uint8 and [-1, 1] give the same features) and FID of the features."""
    network = ev.inception_network(weights=None)
    assert network.output_shape == (None, 2048)
    images = np.random.default_rng(7).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    a = ev.inception_features(images, network, batch_size=4)
    b = ev.inception_features(images.astype(np.float32) / 127.5 - 1.0, network)
    assert a.shape == (6, 2048) and np.all(np.isfinite(a))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert ev.fid_from_features(a, a) == pytest.approx(0.0, abs=1e-6)


def _tiny_clip():
    """A KerasHub CLIP with random weights and a 58-token vocabulary: the offline stand-in for
    ``clip_model()`` (which downloads the preset on Colab)."""
    import keras_hub          # in the dev extra: the test runs wherever the course is tested
    letters = list("abcdefghijklmnopqrstuvwxyz")
    tokens = letters + [c + "</w>" for c in letters] + ["re", "pi"]
    vocab = {t: i for i, t in enumerate(tokens + ["<|startoftext|>", "<|endoftext|>"])}
    tokenizer = keras_hub.models.CLIPTokenizer(vocabulary=vocab, merges=["r e", "p i"])
    converter = keras_hub.layers.CLIPImageConverter(image_size=(32, 32), scale=1 / 255.0)
    preprocessor = keras_hub.models.CLIPPreprocessor(tokenizer, converter, sequence_length=16)
    size = dict(hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=32)
    vision = keras_hub.models.CLIPVisionEncoder(patch_size=8, image_shape=(32, 32, 3), **size)
    text = keras_hub.models.CLIPTextEncoder(vocabulary_size=len(vocab), embedding_dim=16,
                                            max_sequence_length=16, **size)
    return keras_hub.models.CLIPBackbone(vision, text, projection_dim=8), preprocessor


def test_clip_score_pipeline_with_a_random_tiny_clip():
    backbone, preprocessor = _tiny_clip()
    images = np.random.default_rng(8).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    captions = ["red apple", "pizza", "Japan", "owl", "red apple"]
    out = ev.clip_score(images, captions, backbone, preprocessor, batch_size=2)
    same = ev.clip_score(images.astype(np.float32) / 127.5 - 1, captions, backbone, preprocessor)
    assert out["n"] == 5 and out["per_pair"].shape == (5,)
    assert np.all((0 <= out["per_pair"]) & (out["per_pair"] <= ev.CLIP_SCORE_WEIGHT))
    np.testing.assert_allclose(out["per_pair"], same["per_pair"], rtol=1e-4, atol=1e-5)
    lo, hi = out["clip_score_ci"]
    assert lo <= out["clip_score"] <= hi
    # by hand: w * max(cos, 0) of the backbone's own embeddings
    batch = preprocessor({"images": images.astype(np.float32), "prompts": np.array(captions)})
    v = np.asarray(backbone.get_vision_embeddings(batch["images"]))
    t = np.asarray(backbone.get_text_embeddings(batch["token_ids"]))
    cos = np.sum(v * t, 1) / np.linalg.norm(v, axis=1) / np.linalg.norm(t, axis=1)
    np.testing.assert_allclose(out["per_pair"], 2.5 * np.maximum(cos, 0), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="N captions"):
        ev.clip_score(images, captions[:3], backbone, preprocessor)


def test_attribute_accuracy_intervals_on_real_and_recoloured_shapes():
    from textgan_lib.data.shapes import attribute_accuracy, make_shapes

    data = make_shapes(200, image_size=32, split="val", seed=3)
    real = ev.attribute_accuracy_intervals(data.images, data.attributes)
    assert real["n"] == 200
    assert real["colour"][0] == attribute_accuracy(data.images, data.attributes)["colour"]
    wrong = data.images.copy()
    wrong[:100] = wrong[:100][..., ::-1]          # half the images with red and blue swapped
    out = ev.attribute_accuracy_intervals(wrong, data.attributes)
    for name in ("colour", "shape", "size", "position", "all"):
        value, (lo, hi) = out[name]
        assert lo <= value <= hi
    assert out["colour"][0] < real["colour"][0]
    assert out["shape"][0] == pytest.approx(real["shape"][0])      # shape does not see colour
