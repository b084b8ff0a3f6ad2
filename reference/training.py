"""Gradient descent that gives the template's numbers while skipping the work it throws away.

The template's loop computes, every iteration, a cost it only keeps every hundredth time and
the gradient with respect to the input X (dA0), a product as large as X itself that nothing
uses. This loop computes the same quantities in the same order of floating-point operations,
minus those two, so parameters, costs and printed lines are identical.
"""

import numpy as np

from reference.helpers import compute_cost, initialize_parameters, initialize_parameters_deep


def gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost=False):
    """Train [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID from `parameters`; (parameters, costs)."""
    L = len(parameters) // 2
    W = [None] + [parameters["W" + str(l)] for l in range(1, L + 1)]
    b = [None] + [parameters["b" + str(l)] for l in range(1, L + 1)]
    m = X.shape[1]
    costs = []

    for i in range(num_iterations):
        # Forward: A[0] = X, Z[l] = W[l] A[l-1] + b[l], A[l] = relu(Z[l]) then sigmoid(Z[L]).
        A = [X]
        Z = [None]
        for l in range(1, L + 1):
            Z.append(W[l].dot(A[l - 1]) + b[l])
            A.append(np.maximum(0, Z[l]) if l < L else 1 / (1 + np.exp(-Z[l])))
        AL = A[L]

        keep = i % 100 == 0
        shown = print_cost and keep or i == num_iterations - 1
        if keep or shown:
            cost = compute_cost(AL, Y)
            if shown:
                print("Cost after iteration {}: {}".format(i, np.squeeze(cost)))  # noqa: UP032 - the template's line
            if keep:
                costs.append(cost)

        # Backward: dZ[L] from the cross-entropy through the sigmoid, then through each ReLU.
        Yr = Y.reshape(AL.shape)
        dA = -(np.divide(Yr, AL) - np.divide(1 - Yr, 1 - AL))
        dZ = dA * AL * (1 - AL)
        for l in range(L, 0, -1):
            dW = 1.0 / m * np.dot(dZ, A[l - 1].T)
            db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
            if l > 1:
                dA = np.dot(W[l].T, dZ)
                dZ = np.where(Z[l - 1] <= 0, 0.0, dA)
            W[l] = W[l] - learning_rate * dW
            b[l] = b[l] - learning_rate * db

    trained = {}
    for l in range(1, L + 1):
        trained["W" + str(l)] = W[l]
        trained["b" + str(l)] = b[l]
    return trained, costs


def two_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    """Same results as reference.models.two_layer_model, faster."""
    np.random.seed(1)
    n_x, n_h, n_y = layers_dims
    parameters = initialize_parameters(n_x, n_h, n_y)
    return gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost)


def L_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    """Same results as reference.models.L_layer_model, faster."""
    np.random.seed(1)
    parameters = initialize_parameters_deep(layers_dims)
    return gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost)


FAST_FUNCTIONS = {"two_layer_model": two_layer_model, "L_layer_model": L_layer_model}
