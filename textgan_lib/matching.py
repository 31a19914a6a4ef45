"""A DAMSM-style image-text matching loss with its own encoder (AttnGAN's sentence loss).

Taught in ``06_training``. AttnGAN (Xu et al., 2018) pre-trains a "deep attentional
multimodal similarity model" (DAMSM): an image encoder and a text encoder whose codes of a
matching image and caption are close. While the GAN trains, the encoders are frozen and G's
loss gains ``lambda * L_DAMSM(G(z, e), e)``: its images must let the encoder pick their own
caption out of the batch. We build only DAMSM's *sentence* part (one code per image and per
caption; AttnGAN adds a word-level part over attention regions), at AttnGAN's settings:

``L = (CE(gamma3 * cos(I, T)) + CE(gamma3 * cos(I, T)^T)) / 2`` over the B x B cosine matrix of
the batch's image codes I and caption codes T, the right pair of each row being its diagonal
entry (gamma3 = 10, ``taoxugit/AttnGAN`` ``sent_loss``; ``bird_attn2.yml`` sets
``GAMMA3: 10.0`` and ``LAMBDA: 5.0``). Pairs of the same image off the diagonal are masked
out, as AttnGAN masks captions of the same class.

The matching encoder is *ours*: trained here on the training images only, with its own
architecture (strided convolutions, no batch norm), never the evaluation's feature network
(``data/pretrained/emoji_features.keras``), which stays a measuring instrument.
"""
from __future__ import annotations

import numpy as np
import keras
from keras import ops

from . import config

#: AttnGAN's gamma3 (the sentence loss' inverse temperature) and LAMBDA (its weight in G's loss)
GAMMA3 = 10.0
ATTNGAN_LAMBDA = 5.0
#: File names of the trained encoders inside a run's ``matching/`` directory
IMAGE_FILE = "image_encoder.keras"
TEXT_FILE = "text_encoder.keras"


def sentence_matching_loss(image_codes, text_codes, image_ids=None, gamma: float = GAMMA3):
    """AttnGAN's DAMSM sentence loss, averaged over its two directions.

    Args:
        image_codes: float (B, C) codes of B images (any length; cosines are taken).
        text_codes: float (B, C) codes of their B captions (row i describes image i).
        image_ids: optional int (B,): off-diagonal pairs with the same id (another caption of
            the same image) are masked out of the softmax (AttnGAN masks same-class pairs).
        gamma: inverse temperature gamma3.

    Returns:
        float32 scalar: ``(CE_image->text + CE_text->image) / 2``. log(B) for codes that carry
        no information (all cosines equal); towards 0 when each image matches only its caption.
    """
    i = ops.normalize(ops.cast(image_codes, "float32"), axis=-1)
    t = ops.normalize(ops.cast(text_codes, "float32"), axis=-1)
    scores = gamma * ops.matmul(i, ops.transpose(t))          # (B, B): image i vs caption j
    if image_ids is not None:
        ids = ops.reshape(image_ids, (-1,))
        same = ops.equal(ids[:, None], ids[None, :])
        off_diagonal = ops.logical_not(ops.eye(ops.shape(ids)[0], dtype="bool"))
        scores = ops.where(ops.logical_and(same, off_diagonal), -1e9, scores)
    labels = ops.arange(ops.shape(scores)[0])
    ce = keras.losses.sparse_categorical_crossentropy
    return 0.5 * (ops.mean(ce(labels, scores, from_logits=True))
                  + ops.mean(ce(labels, ops.transpose(scores), from_logits=True)))


def build_image_encoder(image_size: int = config.BASE_SIZE, code_dim: int = 256,
                        filters=(32, 64, 128, 128)) -> keras.Model:
    """Image (B, S, S, 3) in [-1, 1] -> code (B, code_dim): a 3x3 convolution, then 3x3
    convolutions of stride 2 (32 -> 16 -> 8 -> 4 px at 32 px), leaky ReLU (no normalisation, so
    each image's code depends on that image only), global average pooling, a dense code.
    About 13 M multiply-adds per 32 px image: it runs on every fake of every G step."""
    image = keras.Input((image_size, image_size, 3), name="image")
    x = image
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 3, strides=1 if i == 0 else 2, padding="same",
                                name=f"conv{i}")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(image, keras.layers.Dense(code_dim, name="code")(x),
                       name="matching_image_encoder")


def build_text_encoder(text_dim: int, code_dim: int = 256) -> keras.Model:
    """Caption embedding (B, text_dim) -> code (B, code_dim): one hidden layer (the sentence
    encoder itself stays frozen, as the course's MiniLM does everywhere)."""
    text = keras.Input((text_dim,), name="text")
    x = keras.layers.Dense(512, activation="gelu", name="hidden")(text)
    return keras.Model(text, keras.layers.Dense(code_dim, name="code")(x),
                       name="matching_text_encoder")


class MatchingTrainer(keras.Model):
    """Trains an image and a text encoder with :func:`sentence_matching_loss` on real pairs
    (both directions), with DiffAugment on the images (the GAN feeds augmented fakes too)."""

    def __init__(self, image_encoder, text_encoder, augment: str = "translation,cutout",
                 seed: int = config.SEED, **kwargs):
        super().__init__(**kwargs)
        from .augment import parse_policy
        self.image_encoder = image_encoder
        self.text_encoder = text_encoder
        self.augment_policy = ",".join(parse_policy(augment))
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        import tensorflow as tf

        from .augment import diff_augment
        images = data["image"]
        if self.augment_policy:
            images = diff_augment(images, self.augment_policy, seed=self.seed_generator)
        with tf.GradientTape() as tape:
            loss = sentence_matching_loss(self.image_encoder(images, training=True),
                                          self.text_encoder(data["embedding"], training=True),
                                          data["image_id"])
        variables = self.image_encoder.trainable_weights + self.text_encoder.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


def train_matching_encoder(images: np.ndarray, embeddings: np.ndarray, image_ids=None,
                           epochs: int = 40, batch_size: int = 64, code_dim: int = 256,
                           learning_rate: float = 1e-3, seed: int = config.SEED,
                           image_size: int = config.BASE_SIZE, verbose="auto"):
    """Pre-train the matching encoders on real training pairs (AttnGAN pre-trains its DAMSM
    before the GAN). Returns ``(image_encoder, text_encoder, history)``."""
    from .training import epoch_steps, training_stream

    config.set_seed(seed)
    image_encoder = build_image_encoder(image_size, code_dim)
    text_encoder = build_text_encoder(np.shape(embeddings)[1], code_dim)
    trainer = MatchingTrainer(image_encoder, text_encoder, seed=seed)
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate))
    ds, steps = training_stream(images, embeddings, image_ids, batch_size=batch_size,
                                seed=seed + 7, image_size=image_size)
    history = trainer.fit(ds, epochs=epochs, steps_per_epoch=epoch_steps(len(images), batch_size),
                          verbose=verbose)
    image_encoder.trainable = False
    text_encoder.trainable = False
    return image_encoder, text_encoder, history


def matching_retrieval(image_encoder, text_encoder, images, embeddings) -> float:
    """Share of images whose own caption has the highest cosine among all N captions (R@1
    over the whole set, our encoder's own check; not the course's R-precision instrument)."""
    i = np.asarray(image_encoder.predict(images, batch_size=256, verbose=0), np.float64)
    t = np.asarray(text_encoder.predict(embeddings, batch_size=256, verbose=0), np.float64)
    i /= np.linalg.norm(i, axis=1, keepdims=True)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    return float(np.mean(np.argmax(i @ t.T, axis=1) == np.arange(len(i))))


def save_encoders(directory, image_encoder, text_encoder):
    from pathlib import Path
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    image_encoder.save(directory / IMAGE_FILE)
    text_encoder.save(directory / TEXT_FILE)


def load_encoders(directory):
    """``(image_encoder, text_encoder)`` from a run's ``matching/`` directory, frozen, or None
    when either file is missing."""
    from pathlib import Path
    directory = Path(directory)
    if not ((directory / IMAGE_FILE).exists() and (directory / TEXT_FILE).exists()):
        return None
    with config.float32_policy():          # frozen: float32 whatever the global policy
        out = [keras.saving.load_model(directory / name) for name in (IMAGE_FILE, TEXT_FILE)]
    for model in out:
        model.trainable = False
    return tuple(out)


def load_or_train_encoders(directory, images, embeddings, image_ids=None, verbose="auto",
                           **options):
    """``(image_encoder, text_encoder, seconds)``: the frozen encoders saved in ``directory`` by
    an earlier process (seconds 0), else :func:`train_matching_encoder` (``options``: epochs,
    code_dim, ...) on the pairs, saved there, with its training time. Also writes
    ``report.json`` there (options, final loss, own R@1 among the first 1,000 images, time)."""
    import json
    import time
    from pathlib import Path

    loaded = load_encoders(directory)
    if loaded is not None:
        return (*loaded, 0.0)
    clock = time.perf_counter()
    image_enc, text_enc, history = train_matching_encoder(images, embeddings, image_ids,
                                                          verbose=verbose, **options)
    from .data.pipeline import resize_uint8, to_float
    ids = np.arange(len(images)) if image_ids is None else np.asarray(image_ids)
    few = np.unique(ids, return_index=True)[1][:1000]
    small = np.asarray(to_float(resize_uint8(np.asarray(images)[few], config.BASE_SIZE)))
    seconds = time.perf_counter() - clock
    save_encoders(directory, image_enc, text_enc)
    report = {**options, "final_loss": round(float(history.history["loss"][-1]), 4),
              "train_r1_of_1000": matching_retrieval(image_enc, text_enc, small,
                                                     np.asarray(embeddings)[few]),
              "seconds": round(seconds, 1)}
    (Path(directory) / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return image_enc, text_enc, seconds


__all__ = ["GAMMA3", "ATTNGAN_LAMBDA", "load_or_train_encoders", "sentence_matching_loss",
           "build_image_encoder", "build_text_encoder", "MatchingTrainer", "train_matching_encoder",
           "matching_retrieval", "save_encoders", "load_encoders"]
