"""The toy assignment's grading cases (instructor-only).

Each case names its function, says in one line what it exercises (all a student sees of a hidden
case), gives its inputs as a recipe in the harness's own language (see grader/kernel_side.py) and
lists what is compared: "returned" (the whole value) or the names of the manifest's `returns`,
"stdout" (printed lines, numbers within the tolerance) and "inputs_unchanged" (every argument
comes back as it was passed).
"""

X = {"file": "toy_data.h5", "key": "x"}

CASES = [
    {
        "id": "mean_square/public",
        "function": "mean_square",
        "visibility": "visible",
        "description": "public test: ten normal draws",
        "recipe": {"seed": 1, "args": {"x": {"normal": [10]}}},
    },
    {
        "id": "mean_square/matrix",
        "function": "mean_square",
        "visibility": "hidden",
        "description": "a 3x4 matrix of uniform draws",
        "recipe": {"seed": 2, "args": {"x": {"uniform": [3, 4]}}},
    },
    {
        "id": "init_weights/public",
        "function": "init_weights",
        "visibility": "visible",
        "description": "public test: layers (3, 2, 1)",
        "recipe": {"args": {"sizes": [3, 2, 1], "scale": 0.5}},
    },
    {
        "id": "init_weights/deep",
        "function": "init_weights",
        "visibility": "hidden",
        "description": "four layers",
        "recipe": {"args": {"sizes": [4, 3, 3, 1], "scale": 0.1}},
    },
    {
        "id": "fit_line/public",
        "function": "fit_line",
        "visibility": "visible",
        "description": "public test: the shipped data, 6 steps",
        "compare": ["losses", "coef", "stdout"],
        "recipe": {"args": {"x": X, "y": {"file": "toy_data.h5", "key": "y"}, "steps": 6, "rate": 0.1}},
    },
    {
        "id": "fit_line/noisy",
        "function": "fit_line",
        "visibility": "hidden",
        "description": "noisy labels, 5 steps",
        "compare": ["losses", "coef"],
        "recipe": {
            "seed": 3,
            "args": {"x": {"normal": [8]}, "y": {"bernoulli": [8], "p": 0.3}, "steps": 5, "rate": 0.05},
        },
    },
    {
        "id": "apply_params/public",
        "function": "apply_params",
        "visibility": "visible",
        "description": "public test: a dict of W and b",
        "compare": ["returned", "inputs_unchanged"],
        "recipe": {
            "seed": 4,
            "args": {
                "params": {"dict": {"W": {"normal": [2, 3]}, "b": {"array": [[1.0], [-1.0]]}}},
                "x": {"normal": [3, 4]},
            },
        },
    },
    {
        "id": "apply_params/hidden",
        "function": "apply_params",
        "visibility": "hidden",
        "description": "a wider batch",
        "compare": ["returned", "inputs_unchanged"],
        "recipe": {
            "seed": 5,
            "args": {"params": {"dict": {"W": {"normal": [1, 3]}, "b": {"array": [[0.5]]}}}, "x": {"normal": [3, 6]}},
        },
    },
]
