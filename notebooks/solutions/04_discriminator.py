"""Reference solutions for the exercises of ``04_discriminator``."""
import numpy as np


def my_projection_logit(phi, text_code, psi_w, psi_b):
    """Exercise 1: psi(phi) + <V e, phi>, shape (B, 1)."""
    return phi @ psi_w + psi_b + np.sum(text_code * phi, axis=1, keepdims=True)


def my_wrong_indices(image_ids):
    """Exercise 2: for each example, the next caption in the batch of a different image."""
    ids = np.asarray(image_ids)
    out = np.full(len(ids), -1)
    for i in range(len(ids)):
        for step in range(1, len(ids)):
            j = (i + step) % len(ids)
            if ids[j] != ids[i]:
                out[i] = j
                break
    return out


#: Exercise 3: D's target for each kind of pair.
my_targets = {"real_right": 1, "real_wrong": 0, "fake_right": 0}
