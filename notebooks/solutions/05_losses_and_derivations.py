"""Reference solutions for the exercises of ``05_losses_and_derivations``."""
import numpy as np
import tensorflow as tf


def my_optimal_d(p_data, p_g):
    """Exercise 1: D*(x) = p_data / (p_data + p_g)."""
    return p_data / (p_data + p_g)


def my_d_loss(real_logits, fake_logits):
    """Exercise 2: mean BCE(real, 1) + mean BCE(fake, 0) from logits, via softplus."""
    return np.mean(np.logaddexp(0, -real_logits)) + np.mean(np.logaddexp(0, fake_logits))


def my_dloss_ds(s):
    """Exercise 3: d/ds of -log sigmoid(s) = sigmoid(s) - 1."""
    return 1 / (1 + np.exp(-s)) - 1


def my_r1(discriminator, images, gamma):
    """Exercise 4: gamma / 2 * mean_i |grad_x D(x_i)|^2."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(discriminator(images))
    grad = tape.gradient(total, images)
    return gamma / 2 * tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3]))
