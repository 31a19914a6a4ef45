"""Reference solutions for the exercises of ``05b_stable_losses_and_penalties``."""
import numpy as np
import tensorflow as tf


def my_d_loss(real_logits, fake_logits):
    """Exercise 1: mean BCE(real, 1) + mean BCE(fake, 0) from logits, via softplus."""
    return np.mean(np.logaddexp(0, -real_logits)) + np.mean(np.logaddexp(0, fake_logits))


def my_r1(discriminator, images, gamma):
    """Exercise 2: gamma / 2 * mean_i |grad_x D(x_i)|^2."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(discriminator(images))
    grad = tape.gradient(total, images)
    return gamma / 2 * tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3]))
