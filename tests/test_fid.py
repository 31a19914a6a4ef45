"""FID: the Fréchet distance against closed forms, and the feature network's contract."""
import numpy as np
import pytest

from textgan_lib import fid


def test_frechet_distance_of_identical_gaussians_is_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    sigma = a @ a.T + np.eye(5)
    assert fid.frechet_distance(np.ones(5), sigma, np.ones(5), sigma) == pytest.approx(0, abs=1e-8)


def test_frechet_distance_diagonal_closed_form():
    # diagonal covariances: |mu1 - mu2|^2 + sum (s1 + s2 - 2 sqrt(s1 s2)) = sum (sqrt s1 - sqrt s2)^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0
    assert fid.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)


def test_frechet_distance_is_symmetric_for_non_commuting_covariances():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 4, 4))
    s1, s2 = a @ a.T, b @ b.T
    d12 = fid.frechet_distance(np.zeros(4), s1, np.ones(4), s2)
    d21 = fid.frechet_distance(np.ones(4), s2, np.zeros(4), s1)
    assert d12 == pytest.approx(d21, rel=1e-9)
    # Tr((S1 S2)^1/2) = sum of sqrt(eigenvalues of S1 S2) (real, >= 0 for PSD S1, S2); the
    # tempting Tr(S1^1/2 S2^1/2) differs when S1 and S2 do not commute
    cross = np.sum(np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)))
    expected = 4.0 + np.trace(s1) + np.trace(s2) - 2 * cross
    assert d12 == pytest.approx(expected, rel=1e-6)
    root = lambda m: (lambda w, v: (v * np.sqrt(np.clip(w, 0, None))) @ v.T)(*np.linalg.eigh(m))
    wrong = 4.0 + np.trace(s1) + np.trace(s2) - 2 * np.trace(root(s1) @ root(s2))
    assert abs(d12 - wrong) > 1e-3
    # 1-D sanity: N(0, 1) vs N(0, 4) -> (1 - 2)^2 = 1
    assert fid.frechet_distance([0.0], [[1.0]], [0.0], [[4.0]]) == pytest.approx(1.0)


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes do not match"):
        fid.frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))


def test_feature_statistics_validates_input():
    mu, sigma = fid.feature_statistics([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(mu, [1.0, 2.0])
    np.testing.assert_allclose(sigma, [[2.0, 2.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="N >= 2"):
        fid.feature_statistics(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fid.feature_statistics([[0.0, np.nan], [1.0, 1.0]])


def test_fid_of_a_set_with_itself_is_zero_and_shifted_set_is_not():
    model = fid.build_feature_network(text_dim=8)
    extractor = fid.feature_extractor(model)
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(40, 32, 32, 3), dtype=np.uint8)
    assert fid.fid(images, images, extractor) == pytest.approx(0.0, abs=1e-6)
    # uint8 and the same images in [-1, 1] score the same; 128 px inputs are area-resized
    as_float = images.astype(np.float32) / 127.5 - 1
    assert fid.fid(images, as_float, extractor) == pytest.approx(0.0, abs=1e-6)
    big = np.repeat(np.repeat(images, 4, axis=1), 4, axis=2)
    assert fid.fid(images, big, extractor) == pytest.approx(0.0, abs=1e-6)
    assert fid.fid(images, np.full_like(images, 255), extractor) > 0


def test_fid_rejects_bad_images():
    extractor = fid.feature_extractor(fid.build_feature_network(text_dim=8))
    good = np.zeros((4, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="at least 2 images"):
        fid.fid(good, good[:1], extractor)
    with pytest.raises(ValueError, match="NaN"):
        fid.fid(good, np.full((4, 32, 32, 3), np.nan, np.float32), extractor)


def test_feature_network_shapes():
    model = fid.build_feature_network(text_dim=384)
    images = np.random.default_rng(3).uniform(-1, 1, size=(2, 32, 32, 3)).astype(np.float32)
    out = model(images)
    assert tuple(out.shape) == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(out), axis=1), 1.0, atol=1e-4)
    assert tuple(fid.feature_extractor(model).output.shape) == (None, fid.FEATURE_DIM)


def test_missing_feature_network_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="bench/fid.py --train-features"):
        fid.load_feature_network(tmp_path / "nope.keras")
