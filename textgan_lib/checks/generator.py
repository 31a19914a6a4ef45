"""Checkers for the exercises of ``02_generator``."""
from __future__ import annotations

import numpy as np

from . import as_array, check_shape, exercise, fail, passed


@exercise("Exercise 1")
def kl_divergence(fn) -> bool:
    """Exercise 1: ``fn(mu, log_sigma)`` -> KL(N(mu, sigma^2) || N(0, 1)) per element (NumPy)."""
    mu = np.array([[0.0, 1.0, -0.5], [2.0, 0.0, 0.3]])
    log_sigma = np.array([[0.0, 0.0, 0.4], [-0.7, 0.5, 0.0]])
    sigma = np.exp(log_sigma)
    expected = 0.5 * (mu ** 2 + sigma ** 2 - 1.0) - log_sigma
    try:
        out = fn(mu.copy(), log_sigma.copy())
    except Exception as err:  # noqa: BLE001
        fail(f"your function raised {type(err).__name__}: {err}")
    out = as_array(out, "your KL")
    check_shape(out, mu.shape, "your KL (one value per element, no sum)")
    if np.allclose(out, expected, atol=1e-6):
        return passed("Exercise 1", ": KL = 0 at mu = 0, sigma = 1 and 0.5 at mu = 1, sigma = 1")
    if np.allclose(out, 2 * expected, atol=1e-6):
        fail("your values are twice the KL: the formula has a factor 1/2 on "
             "(mu^2 + sigma^2 - 1) and on 2 log sigma.")
    if np.allclose(out, 0.5 * (mu ** 2 + sigma ** 2 - 1.0), atol=1e-6):
        fail("the - log sigma term is missing.")
    if np.allclose(out, 0.5 * (mu ** 2 + log_sigma ** 2 - 1.0) - log_sigma, atol=1e-6) or \
            np.allclose(out, 0.5 * (mu ** 2 + np.exp(log_sigma) - 1.0) - log_sigma, atol=1e-6):
        fail("sigma^2 is exp(2 * log_sigma): you used log_sigma^2 or exp(log_sigma).")
    fail("check the formula 0.5 * (mu^2 + sigma^2 - 1) - log(sigma) with sigma = exp(log_sigma); "
         f"at mu = 1, log_sigma = 0 you give {out[0, 1]:.3f}, expected 0.5.")


@exercise("Exercise 2")
def projection_weights(answer, generator) -> bool:
    """Exercise 2: ``answer`` = number of weights of the generator's ``project`` layer."""
    layer = generator.get_layer("project")
    expected = int(layer.count_params())
    fan_in, units = (int(d) for d in layer.kernel.shape)
    if not isinstance(answer, (int, np.integer)):
        fail(f"give a whole number, got {type(answer).__name__}.")
    if answer == expected:
        return passed("Exercise 2", f": {fan_in} inputs x {units} outputs = {expected:,}")
    if answer == expected + units:
        fail("you counted a bias: 'project' has use_bias=False (batch norm follows it).")
    if answer % units == 0:
        fail(f"{answer} / {units} = {answer // units} inputs, but the layer gets {fan_in}: "
             "look at what is concatenated (or not) before it.")
    fail(f"{answer:,} is not right: inputs x outputs, where outputs = 4 * 4 * channels.")


@exercise("Exercise 3")
def film(fn) -> bool:
    """Exercise 3: ``fn(x (B, H, W, C), gamma (B, C), beta (B, C))`` -> FiLM output."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4, 5))
    gamma, beta = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    expected = x * (1.0 + gamma[:, None, None, :]) + beta[:, None, None, :]
    try:
        out = fn(x.copy(), gamma.copy(), beta.copy())
    except ValueError as err:
        fail(f"broadcasting failed ({err}): reshape gamma and beta to (B, 1, 1, C).")
    except Exception as err:  # noqa: BLE001
        fail(f"your function raised {type(err).__name__}: {err}")
    out = as_array(out, "your output")
    check_shape(out, x.shape, "your output")
    if np.allclose(out, expected, atol=1e-6):
        return passed("Exercise 3")
    if np.allclose(out, x * gamma[:, None, None, :] + beta[:, None, None, :], atol=1e-6):
        fail("use x * (1 + gamma) + beta, so that gamma = beta = 0 leaves x unchanged.")
    fail("each example b and channel c must be scaled by 1 + gamma[b, c] and shifted by "
         "beta[b, c], the same at every pixel (h, w).")


__all__ = ["kl_divergence", "projection_weights", "film"]
