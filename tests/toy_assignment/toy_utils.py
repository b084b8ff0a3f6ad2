"""The toy assignment's support module: a helper the notebook imports (and the grader copies beside it)."""

import numpy as np


def squared_error(prediction, target):
    """Mean of the squared differences."""
    return float(np.mean((np.asarray(prediction) - np.asarray(target)) ** 2))
