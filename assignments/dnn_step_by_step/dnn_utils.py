"""Activation functions for the step-by-step deep network assignment, and their derivatives.

Each forward activation returns the activation and keeps Z as its cache; each backward function
takes dA and that cache and returns dZ. The graded functions of the notebook call these.
"""

import numpy as np


def sigmoid(Z):
    """Logistic function 1 / (1 + e^-Z); the cache is Z."""
    A = 1 / (1 + np.exp(-Z))
    return A, Z


def relu(Z):
    """Rectified linear unit max(0, Z); the cache is Z."""
    A = np.maximum(0, Z)
    return A, Z


def relu_backward(dA, cache):
    """dZ = dA where Z > 0, and 0 elsewhere."""
    Z = cache
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


def sigmoid_backward(dA, cache):
    """dZ = dA * s * (1 - s) with s = sigmoid(Z)."""
    Z = cache
    s = 1 / (1 + np.exp(-Z))
    return dA * s * (1 - s)
