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
