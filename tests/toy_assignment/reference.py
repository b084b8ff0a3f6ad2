"""The toy assignment's reference: the instructor's versions of the graded functions.

`grader expected` calls these on every case (arguments built from the case's recipe, in the order
of the manifest's signature) and stores what they return and print. It stays on the instructor's
side; it is never released.
"""

import numpy as np


def squared_error(prediction, target):
    return float(np.mean((np.asarray(prediction) - np.asarray(target)) ** 2))


def mean_square(x):
    return float(np.mean(np.asarray(x) ** 2))


def init_weights(sizes, scale):
    weights = {}
    for layer in range(1, len(sizes)):
        weights[f"W{layer}"] = np.full((sizes[layer], sizes[layer - 1]), scale * layer)
        weights[f"b{layer}"] = np.zeros((sizes[layer], 1))
    return weights


def fit_line(x, y, steps, rate):
    w, b = 0.0, 0.0
    losses = []
    for step in range(steps):
        prediction = w * x + b
        loss = squared_error(prediction, y)
        losses.append(loss)
        if step % 2 == 0:
            print(f"step {step}: loss {loss:.6f}")
        w -= rate * float(np.mean(2 * (prediction - y) * x))
        b -= rate * float(np.mean(2 * (prediction - y)))
    return (w, b), losses


def apply_params(params, x):
    return params["W"] @ x + params["b"]


def write_data(path) -> None:
    """The shipped data file `toy_data.h5` (x and y of a noisy line), made the same on every run:
    `python -c "import reference; reference.write_data('toy_data.h5')"` in this folder."""
    import h5py

    x = np.linspace(-1.0, 1.0, 12)
    y = 2.0 * x + 0.5 + 0.1 * np.cos(7.0 * x)
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", data=x)
        handle.create_dataset("y", data=y)
