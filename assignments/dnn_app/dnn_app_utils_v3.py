"""Helpers for the cat / non-cat deep network assignment.

These are the building blocks from the "step by step" assignment: activations, parameter
initialisation, forward and backward propagation, the cost, the update rule, prediction and a
plot of mislabelled images. The graded functions of the notebook are assembled from them.
Every function keeps the course's conventions (shapes, cache layouts, dictionary keys and the
seeding inside the initialisers), because the expected numbers depend on them.
"""

import os

import h5py
import numpy as np

# Where load_data() looks for the two HDF5 files: DNN_DATA_DIR if set, else ./datasets.
DATA_DIR_VARIABLE = "DNN_DATA_DIR"


# --- activations: each returns (A, cache) and keeps Z as the cache ------------------------------


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


# --- data ----------------------------------------------------------------------------------------


def load_data(data_dir=None):
    """Return train_x_orig, train_y, test_x_orig, test_y, classes from the two HDF5 files.

    Labels come back as row vectors of shape (1, m). The folder is `data_dir`, else the
    DNN_DATA_DIR environment variable, else `datasets/` beside the notebook.
    """
    folder = data_dir or os.environ.get(DATA_DIR_VARIABLE) or "datasets"
    train_path = os.path.join(folder, "train_catvnoncat.h5")
    test_path = os.path.join(folder, "test_catvnoncat.h5")
    for path in (train_path, test_path):
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path} is missing: put train_catvnoncat.h5 and test_catvnoncat.h5 in a "
                f"'datasets' folder beside the notebook, or set {DATA_DIR_VARIABLE} to their folder."
            )
    with h5py.File(train_path, "r") as train:
        train_x_orig = np.array(train["train_set_x"][:])
        train_y = np.array(train["train_set_y"][:])
    with h5py.File(test_path, "r") as test:
        test_x_orig = np.array(test["test_set_x"][:])
        test_y = np.array(test["test_set_y"][:])
        classes = np.array(test["list_classes"][:])
    return train_x_orig, train_y.reshape(1, -1), test_x_orig, test_y.reshape(1, -1), classes


# --- initialisation: both seed numpy's global generator with 1 ---------------------------------


def initialize_parameters(n_x, n_h, n_y):
    """Small random weights (randn * 0.01) and zero biases for a two-layer network."""
    np.random.seed(1)
    W1 = np.random.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def initialize_parameters_deep(layer_dims):
    """Weights randn(n_l, n_{l-1}) / sqrt(n_{l-1}) and zero biases, for l = 1 .. L."""
    np.random.seed(1)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters["W" + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])
        parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))
    return parameters


# --- forward propagation -------------------------------------------------------------------------


def linear_forward(A, W, b):
    """Z = W A + b; the cache is (A, W, b)."""
    Z = W.dot(A) + b
    return Z, (A, W, b)


def linear_activation_forward(A_prev, W, b, activation):
    """One layer, LINEAR then ACTIVATION ('relu' or 'sigmoid'); cache is (linear_cache, Z)."""
    Z, linear_cache = linear_forward(A_prev, W, b)
    if activation == "relu":
        A, activation_cache = relu(Z)
    elif activation == "sigmoid":
        A, activation_cache = sigmoid(Z)
    else:
        raise ValueError(f"activation must be 'relu' or 'sigmoid', not {activation!r}")
    return A, (linear_cache, activation_cache)


def L_model_forward(X, parameters):
    """[LINEAR -> RELU] x (L-1), then LINEAR -> SIGMOID; returns AL and the list of caches."""
    caches = []
    L = len(parameters) // 2
    A = X
    for l in range(1, L):
        A, cache = linear_activation_forward(A, parameters["W" + str(l)], parameters["b" + str(l)], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters["W" + str(L)], parameters["b" + str(L)], "sigmoid")
    caches.append(cache)
    return AL, caches


# --- cost ----------------------------------------------------------------------------------------


def compute_cost(AL, Y):
    """Cross-entropy -(1/m) sum(Y log AL + (1 - Y) log(1 - AL)), squeezed to a 0-d array."""
    m = Y.shape[1]
    cost = (1.0 / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))
    return np.squeeze(cost)


# --- backward propagation ------------------------------------------------------------------------


def linear_backward(dZ, cache):
    """Gradients of Z = W A_prev + b: dW = dZ A_prev^T / m, db = row sums / m, dA_prev = W^T dZ."""
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = 1.0 / m * np.dot(dZ, A_prev.T)
    db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def linear_activation_backward(dA, cache, activation):
    """Backward step through ACTIVATION then LINEAR; returns dA_prev, dW, db."""
    linear_cache, activation_cache = cache
    if activation == "relu":
        dZ = relu_backward(dA, activation_cache)
    elif activation == "sigmoid":
        dZ = sigmoid_backward(dA, activation_cache)
    else:
        raise ValueError(f"activation must be 'relu' or 'sigmoid', not {activation!r}")
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches):
    """Gradients of the cost for every layer: keys dA{l-1}, dW{l}, db{l}."""
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = linear_activation_backward(
        dAL, caches[L - 1], "sigmoid"
    )
    for l in reversed(range(L - 1)):
        dA_prev, dW, db = linear_activation_backward(grads["dA" + str(l + 1)], caches[l], "relu")
        grads["dA" + str(l)] = dA_prev
        grads["dW" + str(l + 1)] = dW
        grads["db" + str(l + 1)] = db
    return grads


# --- gradient descent step -----------------------------------------------------------------------


def update_parameters(parameters, grads, learning_rate):
    """One gradient-descent step, W_l -= lr * dW_l and b_l -= lr * db_l; returns a new dict."""
    updated = dict(parameters)
    for l in range(1, len(parameters) // 2 + 1):
        updated["W" + str(l)] = parameters["W" + str(l)] - learning_rate * grads["dW" + str(l)]
        updated["b" + str(l)] = parameters["b" + str(l)] - learning_rate * grads["db" + str(l)]
    return updated


# --- using a trained network ---------------------------------------------------------------------


def predict(X, y, parameters):
    """Label each column of X as 1 when the network's output exceeds 0.5; prints the accuracy."""
    m = X.shape[1]
    probas, _ = L_model_forward(X, parameters)
    p = (probas > 0.5).astype(float)
    print("Accuracy: " + str(np.sum((p == y) / m)))
    return p


def print_mislabeled_images(classes, X, y, p):
    """Show the images whose prediction p differs from the label y, with both classes named."""
    import matplotlib.pyplot as plt

    wrong = np.asarray(np.where(p + y == 1))[1]
    plt.rcParams["figure.figsize"] = (40.0, 40.0)
    for position, index in enumerate(wrong):
        plt.subplot(2, len(wrong), position + 1)
        plt.imshow(X[:, index].reshape(64, 64, 3), interpolation="nearest")
        plt.axis("off")
        predicted = classes[int(p[0, index])].decode("utf-8")
        actual = classes[int(y[0, index])].decode("utf-8")
        plt.title("Prediction: " + predicted + " \n Class: " + actual)
