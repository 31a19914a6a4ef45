"""Reference solutions for the exercises of ``01_text_embeddings``."""
import numpy as np


def my_masked_mean(hidden, mask):
    """Exercise 1: the mean of the token vectors where ``mask == 1``."""
    mask = mask[:, :, None].astype(hidden.dtype)
    return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)


def exercise_2(a, b):
    """``cosine = exercise_2(a, b)``: a . b / (|a| |b|)."""
    return a @ b / (np.linalg.norm(a) * np.linalg.norm(b))


#: Exercise 3: a query without the word "ambulance" whose top result is "ambulance".
my_query = "a medical emergency vehicle"
