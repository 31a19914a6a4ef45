"""The diffusion maths of textgan_lib.diffusion against closed forms (issue 19's unit tests)."""
from __future__ import annotations

import numpy as np
import pytest

from textgan_lib import diffusion as dm

SCHEDULE = dm.cosine_schedule(1000)
A_BAR = SCHEDULE["alpha_bar"]


def test_cosine_schedule_runs_from_nearly_clean_to_pure_noise():
    betas = SCHEDULE["betas"]
    assert A_BAR.shape == (1000,) and np.all(np.diff(A_BAR) < 0)     # strictly decreasing
    assert 0.9999 < A_BAR[0] < 1 and A_BAR[-1] < 1e-4
    assert betas.max() <= 0.999 and betas.min() > 0
    np.testing.assert_allclose(A_BAR, np.cumprod(1 - betas))
    # Nichol and Dhariwal's closed form at the middle step (t = 500, before any clipping)
    f = lambda t: np.cos((t / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2      # noqa: E731
    assert A_BAR[499] == pytest.approx(f(500) / f(0), rel=1e-9)


def test_forward_marginal_has_the_closed_form_mean_and_variance():
    x0 = np.full((4000, 2, 2, 1), 0.6, np.float32)
    t = np.full(4000, 300)
    noise = np.random.default_rng(0).standard_normal(x0.shape).astype(np.float32)
    x_t = np.asarray(dm.q_sample(x0, t, noise, A_BAR))
    assert x_t.mean() == pytest.approx(np.sqrt(A_BAR[300]) * 0.6, abs=0.01)
    assert x_t.var() == pytest.approx(1 - A_BAR[300], rel=0.03)


def test_x0_is_recovered_exactly_from_the_true_noise():
    rng = np.random.default_rng(1)
    x0 = rng.uniform(-1, 1, (5, 8, 8, 3)).astype(np.float32)
    noise = rng.standard_normal(x0.shape).astype(np.float32)
    t = np.array([0, 10, 200, 600, 900])
    x_t = dm.q_sample(x0, t, noise, A_BAR)
    np.testing.assert_allclose(np.asarray(dm.predict_x0(x_t, t, noise, A_BAR)), x0, atol=2e-4)


def test_guidance_with_w_0_and_1_is_the_unconditional_and_conditional_prediction():
    rng = np.random.default_rng(2)
    eps_u, eps_c = rng.standard_normal((2, 3, 4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(dm.guided_noise(eps_u, eps_c, 0.0)), eps_u)
    np.testing.assert_allclose(np.asarray(dm.guided_noise(eps_u, eps_c, 1.0)), eps_c, atol=1e-6)
    np.testing.assert_allclose(np.asarray(dm.guided_noise(eps_u, eps_c, 3.0)),
                               eps_u + 3 * (eps_c - eps_u), atol=1e-5)


def test_dynamic_threshold_keeps_in_range_images_and_applies_the_percentile_rule():
    rng = np.random.default_rng(3)
    inside = rng.uniform(-1, 1, (2, 10, 10, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(dm.dynamic_threshold(inside)), inside)
    # one image with 100 pixels: |x| = 0.03, 0.06, ..., 3.00; its 90th percentile s = 2.703
    big = (np.arange(1, 101) * 0.03 * np.where(np.arange(100) % 2, 1, -1)).astype(np.float32)
    big = big.reshape(1, 10, 10, 1)
    s = np.quantile(np.abs(big), 0.9)
    out = np.asarray(dm.dynamic_threshold(big, percentile=0.9))
    np.testing.assert_allclose(out, np.clip(big, -s, s) / s, rtol=1e-5)
    assert out.min() >= -1 and out.max() <= 1 and np.abs(out).max() == pytest.approx(1.0)
    # static clipping saturates every pixel beyond 1; the dynamic rule keeps their order
    assert (np.abs(np.asarray(dm.static_threshold(big))) == 1).sum() == 67
    assert (np.abs(out) == 1).sum() == 10


def test_a_ddim_step_with_the_true_noise_lands_on_the_forward_process_and_ends_on_x0():
    rng = np.random.default_rng(4)
    x0 = rng.uniform(-1, 1, (3, 4, 4, 3)).astype(np.float32)
    noise = rng.standard_normal(x0.shape).astype(np.float32)
    t, t_prev = np.array([800, 500, 100]), np.array([400, 100, -1])
    x_t = dm.q_sample(x0, t, noise, A_BAR)
    stepped = np.asarray(dm.ddim_step(x_t, t, t_prev, noise, A_BAR))
    np.testing.assert_allclose(stepped[:2], np.asarray(dm.q_sample(x0[:2], t_prev[:2], noise[:2],
                                                                    A_BAR)), atol=3e-4)
    np.testing.assert_allclose(stepped[2], x0[2], atol=3e-4)        # t_prev = -1: x0 itself


def test_posterior_matches_bayes_rule_for_gaussians():
    t = 250
    x0, x_t = np.float32(0.4), np.float32(-0.3)
    a_bar, a_prev, alpha = A_BAR[t], A_BAR[t - 1], SCHEDULE["alphas"][t]
    # q(x_{t-1} | x0) = N(sqrt(a_prev) x0, 1 - a_prev); q(x_t | x_{t-1}) = N(sqrt(alpha) x, 1 - alpha)
    precision = 1 / (1 - a_prev) + alpha / (1 - alpha)
    mean = (np.sqrt(a_prev) * x0 / (1 - a_prev) + np.sqrt(alpha) * x_t / (1 - alpha)) / precision
    got_mean, got_var = dm.posterior(np.full((1, 1), x_t), np.array([t]), np.full((1, 1), x0),
                                     SCHEDULE)
    assert float(np.asarray(got_mean)[0, 0]) == pytest.approx(mean, rel=1e-4)
    assert float(np.asarray(got_var)[0, 0]) == pytest.approx(1 / precision, rel=1e-4)


def _oracle(x0_cond, x0_uncond):
    """A perfect noise predictor for a known clean image: eps = (x_t - sqrt(a) x0) / sqrt(1 - a),
    x0 the conditional target with a caption and the unconditional one without."""
    def eps_fn(x_t, t, embeddings):
        x0 = x0_cond if embeddings is not None else x0_uncond
        a = A_BAR[t].reshape(-1, 1, 1, 1)
        return (x_t - np.sqrt(a) * x0) / np.sqrt(1 - a)
    return eps_fn


def test_ddim_timesteps_run_from_the_last_step_to_the_clean_image():
    np.testing.assert_array_equal(dm.ddim_timesteps(1000, 4), [999, 666, 333, 0, -1])
    with pytest.raises(ValueError):
        dm.ddim_timesteps(10, 11)


def test_ddim_sampler_with_a_perfect_noise_predictor_ends_on_its_image():
    rng = np.random.default_rng(5)
    target = rng.uniform(-0.9, 0.9, (2, 4, 4, 3)).astype(np.float32)
    other = -target
    for steps in (1, 5, 50):
        out = dm.sample_ddim(_oracle(target, other), target.shape, A_BAR, steps,
                             embeddings=np.zeros((2, 8)), threshold="none", seed=1)
        np.testing.assert_allclose(out, target, atol=1e-3)
    # w = 0: the unconditional prediction alone; no caption: the unconditional model
    w0 = dm.sample_ddim(_oracle(target, other), target.shape, A_BAR, 10,
                        embeddings=np.zeros((2, 8)), guidance=0.0, threshold="none")
    np.testing.assert_allclose(w0, other, atol=1e-3)
    uncond = dm.sample_ddim(_oracle(target, other), target.shape, A_BAR, 10, threshold="none")
    np.testing.assert_allclose(uncond, other, atol=1e-3)


def test_high_guidance_saturates_with_static_clipping_and_not_with_dynamic_thresholding():
    rng = np.random.default_rng(6)
    target = rng.uniform(-0.8, 0.8, (2, 8, 8, 3)).astype(np.float32)
    other = np.zeros_like(target)
    kw = dict(embeddings=np.zeros((2, 8)), guidance=8.0, seed=2)
    static = dm.sample_ddim(_oracle(target, other), target.shape, A_BAR, 20, threshold="static",
                            **kw)
    dynamic = dm.sample_ddim(_oracle(target, other), target.shape, A_BAR, 20, **kw)
    at_ends = lambda x: float(np.mean(np.abs(x) > 0.999))              # noqa: E731
    assert np.abs(static).max() <= 1.0 + 1e-5 and np.abs(dynamic).max() <= 1.0 + 1e-5
    assert at_ends(static) > 0.5 and at_ends(dynamic) < 0.05


# The U-Net and the training step ----------------------------------------------------------------
def _tiny_unet():
    from textgan_lib.models.unet import build_unet

    return build_unet(image_size=8, text_dim=6, base_filters=8, multipliers=(1, 2),
                      embed_dim=16)


def test_unet_maps_noisy_images_to_noise_of_the_same_shape_and_starts_at_zero():
    net = _tiny_unet()
    x = np.random.default_rng(7).standard_normal((3, 8, 8, 3)).astype(np.float32)
    out = np.asarray(net([x, np.array([0, 5, 999]), np.ones((3, 6), np.float32)]))
    assert out.shape == (3, 8, 8, 3)
    np.testing.assert_array_equal(out, 0.0)          # zero-initialised output convolution
    from textgan_lib.models.unet import SinusoidalEmbedding

    emb = np.asarray(SinusoidalEmbedding(4)(np.array([0, 1])))
    np.testing.assert_allclose(emb, [[0, 0, 1, 1], [np.sin(1), np.sin(1e-2), np.cos(1),
                                                    np.cos(1e-2)]], atol=1e-6)


def test_diffusion_loss_is_the_mse_between_the_noise_and_the_prediction():
    net = _tiny_unet()                                # predicts 0: the loss is mean(noise^2)
    rng = np.random.default_rng(8)
    x0 = rng.uniform(-1, 1, (4, 8, 8, 3)).astype(np.float32)
    noise = rng.standard_normal(x0.shape).astype(np.float32)
    e, t, keep = np.ones((4, 6), np.float32), np.array([1, 10, 100, 900]), np.ones((4, 1))
    loss = float(dm.diffusion_loss(net, x0, e, t, noise, keep, A_BAR))
    assert loss == pytest.approx(float(np.mean(noise ** 2)), rel=1e-5)


def test_caption_keep_mask_drops_the_requested_share():
    assert float(np.mean(dm.caption_keep_mask(4000, 0.0, seed=1))) == 1.0
    assert float(np.mean(dm.caption_keep_mask(4000, 1.0, seed=1))) == 0.0
    assert float(np.mean(dm.caption_keep_mask(4000, 0.1, seed=1))) == pytest.approx(0.9, abs=0.02)


def test_training_steps_lower_the_denoising_loss_on_a_fixed_batch():
    import keras

    keras.utils.set_random_seed(0)
    model = dm.DiffusionModel(_tiny_unet(), num_steps=100, drop_prob=0.1)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    rng = np.random.default_rng(9)
    x0 = np.tile(rng.uniform(-1, 1, (1, 8, 8, 3)).astype(np.float32), (16, 1, 1, 1))
    e = np.ones((16, 6), np.float32)
    first = model.train_on_batch(x0, e, return_dict=True)["loss"]
    for _ in range(60):
        last = model.train_on_batch(x0, e, return_dict=True)["loss"]
    assert first == pytest.approx(1.0, abs=0.15)     # the zero net's loss: E[noise^2] = 1
    assert last < 0.6 * first
    eps = np.asarray(model.eps(x0[:2], np.array([50, 50]), None))
    assert eps.shape == (2, 8, 8, 3) and np.all(np.isfinite(eps))
    drawn = dm.sample_ddim(model.eps, (2, 8, 8, 3), model.alpha_bar, 5, embeddings=e[:2],
                           guidance=3.0)                  # the trained net as the sampler's eps
    assert drawn.shape == (2, 8, 8, 3) and np.abs(drawn).max() <= 1.0 + 1e-5
