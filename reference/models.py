"""The two graded functions exactly as the template defines them, quirks included.

Both seed numpy with 1, return (parameters, costs), record the 0-d cost array every 100
iterations, and print "Cost after iteration i: cost" when `print_cost and i % 100 == 0` or on
the last iteration (the template's operator precedence: the last line prints even when
print_cost is False).
"""

import numpy as np

from reference.helpers import (
    L_model_backward,
    L_model_forward,
    compute_cost,
    initialize_parameters,
    initialize_parameters_deep,
    linear_activation_backward,
    linear_activation_forward,
    update_parameters,
)


def _report(i, cost, num_iterations, print_cost, costs):
    """The template's bookkeeping at the end of iteration i."""
    if print_cost and i % 100 == 0 or i == num_iterations - 1:
        print("Cost after iteration {}: {}".format(i, np.squeeze(cost)))  # noqa: UP032 - the template's line
    if i % 100 == 0 or i == num_iterations:
        costs.append(cost)


def two_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    """LINEAR -> RELU -> LINEAR -> SIGMOID trained by batch gradient descent."""
    np.random.seed(1)
    grads = {}
    costs = []
    (n_x, n_h, n_y) = layers_dims
    parameters = initialize_parameters(n_x, n_h, n_y)
    W1, b1, W2, b2 = parameters["W1"], parameters["b1"], parameters["W2"], parameters["b2"]

    for i in range(0, num_iterations):
        A1, cache1 = linear_activation_forward(X, W1, b1, "relu")
        A2, cache2 = linear_activation_forward(A1, W2, b2, "sigmoid")
        cost = compute_cost(A2, Y)

        dA2 = -(np.divide(Y, A2) - np.divide(1 - Y, 1 - A2))
        dA1, dW2, db2 = linear_activation_backward(dA2, cache2, "sigmoid")
        dA0, dW1, db1 = linear_activation_backward(dA1, cache1, "relu")
        grads["dW1"], grads["db1"], grads["dW2"], grads["db2"] = dW1, db1, dW2, db2

        parameters = update_parameters(parameters, grads, learning_rate)
        W1, b1, W2, b2 = parameters["W1"], parameters["b1"], parameters["W2"], parameters["b2"]
        _report(i, cost, num_iterations, print_cost, costs)

    return parameters, costs


def L_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID trained by batch gradient descent."""
    np.random.seed(1)
    costs = []
    parameters = initialize_parameters_deep(layers_dims)

    for i in range(0, num_iterations):
        AL, caches = L_model_forward(X, parameters)
        cost = compute_cost(AL, Y)
        grads = L_model_backward(AL, Y, caches)
        parameters = update_parameters(parameters, grads, learning_rate)
        _report(i, cost, num_iterations, print_cost, costs)

    return parameters, costs


GRADED_FUNCTIONS = {"two_layer_model": two_layer_model, "L_layer_model": L_layer_model}
