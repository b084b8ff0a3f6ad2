"""A deterministic stand-in for the cat / non-cat dataset, for machines without the real one.

Same file names, keys, dtypes and shapes as the real files (209 training and 50 test images of
64x64x3 uint8, int64 labels, the two class names). "Cats" carry a warm blob of varying size
and place on a noisy background, "non-cats" a cool stripe pattern, so a network can learn
the difference but has to generalise to do well on the test split.
"""

from pathlib import Path

import h5py
import numpy as np

TRAIN_SIZE = 209
TEST_SIZE = 50
SIDE = 64
CLASSES = np.array([b"non-cat", b"cat"], dtype="S7")
CAT_SHARE = 0.35
SEED = 20261126


def _image(rng: np.random.Generator, is_cat: bool) -> np.ndarray:
    """One 64x64x3 uint8 picture: noisy background plus the class's pattern."""
    background = rng.uniform(40, 200, size=3)
    picture = background + rng.normal(0, 35, size=(SIDE, SIDE, 3))
    rows, cols = np.mgrid[0:SIDE, 0:SIDE]
    if is_cat:
        centre = rng.uniform(18, 46, size=2)
        radius = rng.uniform(9, 18)
        blob = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 < radius**2
        picture[blob] = picture[blob] * 0.3 + np.array([230.0, 150.0, 60.0]) * 0.7
    else:
        period = rng.uniform(6, 14)
        stripes = np.sin((rows + rng.uniform(0, 1) * cols) * 2 * np.pi / period) > 0
        picture[stripes] = picture[stripes] * 0.4 + np.array([60.0, 110.0, 200.0]) * 0.6
    return np.clip(picture, 0, 255).astype(np.uint8)


def _split(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    labels = (rng.uniform(size=size) < CAT_SHARE).astype(np.int64)
    images = np.stack([_image(rng, bool(label)) for label in labels])
    return images, labels


def synthetic_split(prefix: str, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of the "train" or "test" split, the first `count` of them if given."""
    rng = np.random.default_rng(SEED)
    for name, size in (("train", TRAIN_SIZE), ("test", TEST_SIZE)):
        images, labels = _split(rng, size)
        if name == prefix:
            return images[:count], labels[:count]
    raise ValueError(f"no split named {prefix!r}: use 'train' or 'test'")


def write_synthetic_dataset(out_dir: str | Path) -> Path:
    """Write train_catvnoncat.h5 and test_catvnoncat.h5 into out_dir; returns the folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for prefix in ("train", "test"):
        images, labels = synthetic_split(prefix)
        with h5py.File(out / f"{prefix}_catvnoncat.h5", "w") as f:
            f.create_dataset(f"{prefix}_set_x", data=images)
            f.create_dataset(f"{prefix}_set_y", data=labels)
            f.create_dataset("list_classes", data=CLASSES)
    return out
