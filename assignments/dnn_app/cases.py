"""The grading cases of the cat / non-cat assignment: public ones and hidden ones.

This module stays on the instructor's side. Each case names the graded function, says in one
line what it exercises (that line is all a student sees of a hidden case), gives the recipe of
its inputs (see test_utils.build_inputs) and lists what is compared:
costs and parameters (the two returned parts, as the manifest's `returns` names them), stdout
(the printed cost lines) and inputs_unchanged (every argument after the call).
`misleading_globals` are set in the student's namespace before the call.
"""

from pathlib import Path

CASE_IMAGES = "case_images.h5"
CASE_IMAGE_COUNT = 16

TWO_LAYER_PUBLIC = {"seed": 1, "arrays": [["X", {"randn": [10, 10]}], ["Y", {"randn": [1, 10]}]]}
L_LAYER_PUBLIC = {
    "seed": 1,
    "arrays": [["X", {"randn": [10, 10]}], ["Y", {"values": [[1, 1, 1, 1, 0, 0, 0, 1, 1, 0]]}]],
}
# A slice of real-sized images, trained long enough for a cost curve (one recorded cost per 100
# iterations) and short enough to stay fast.
IMAGES = {"arrays": [["X", {"images": {"path": CASE_IMAGES, "count": CASE_IMAGE_COUNT}}]]}


def _recipe(base, **args):
    return {**base, "args": args}


def _random(seed, n_x, m, labels):
    label = {"bernoulli": [[1, m], 0.4]} if labels == "binary" else {"uniform": [1, m]}
    return {"seed": seed, "arrays": [["X", {"randn": [n_x, m]}], ["Y", label]]}


def _case(function, slug, description, recipe, visibility="hidden", compare=("costs", "parameters"), **extra):
    return {
        "id": f"{function}/{slug}",
        "function": function,
        "description": description,
        "visibility": visibility,
        "recipe": recipe,
        "compare": list(compare),
        **extra,
    }


PUBLIC_CHECKS = {"checks": ["datatype", "shape", "equality"]}

CASES = [
    # two_layer_model ---------------------------------------------------------------------------
    _case(
        "two_layer_model",
        "public-1",
        "public test: 10x10 inputs, layers (10, 4, 1), 2 iterations",
        _recipe(TWO_LAYER_PUBLIC, layers_dims=[10, 4, 1], learning_rate=0.0075, num_iterations=2),
        "visible",
        **PUBLIC_CHECKS,
    ),
    _case(
        "two_layer_model",
        "public-2",
        "public test: learning rate 0.1, 3 iterations",
        _recipe(TWO_LAYER_PUBLIC, layers_dims=[10, 4, 1], learning_rate=0.1, num_iterations=3),
        "visible",
        checks=["equality"],
    ),
    _case(
        "two_layer_model",
        "one-hidden-unit",
        "a hidden layer of one unit, 0/1 labels, 250 iterations",
        _recipe(_random(3, 8, 20, "binary"), layers_dims=[8, 1, 1], learning_rate=0.0075, num_iterations=250),
    ),
    _case(
        "two_layer_model",
        "learning-rate",
        "learning rate 0.05, real-valued labels, 120 iterations",
        _recipe(_random(5, 12, 16, "real"), layers_dims=[12, 5, 1], learning_rate=0.05, num_iterations=120),
    ),
    _case(
        "two_layer_model",
        "print-cost",
        "print_cost=True over 201 iterations: the printed lines",
        _recipe(
            _random(7, 6, 15, "binary"),
            layers_dims=[6, 3, 1],
            learning_rate=0.0075,
            num_iterations=201,
            print_cost=True,
        ),
        compare=("costs", "parameters", "stdout"),
    ),
    _case(
        "two_layer_model",
        "globals",
        "called while the notebook's globals hold other sizes and rates",
        _recipe(_random(11, 9, 12, "binary"), layers_dims=[9, 2, 1], learning_rate=0.02, num_iterations=110),
        misleading_globals={
            "layers_dims": [12288, 7, 1],
            "n_x": 12288,
            "n_h": 7,
            "n_y": 1,
            "learning_rate": 0.0075,
            "num_iterations": 2500,
        },
    ),
    _case(
        "two_layer_model",
        "inputs-unchanged",
        "X and Y are left as they were passed in",
        _recipe(_random(13, 7, 9, "binary"), layers_dims=[7, 3, 1], learning_rate=0.01, num_iterations=5),
        compare=("costs", "parameters", "inputs_unchanged"),
    ),
    _case(
        "two_layer_model",
        "curve",
        "a learning curve on 16 images, layers (12288, 4, 1), 600 iterations",
        _recipe(IMAGES, layers_dims=[12288, 4, 1], learning_rate=0.0075, num_iterations=600),
    ),
    # L_layer_model -----------------------------------------------------------------------------
    _case(
        "L_layer_model",
        "public-1",
        "public test: 10x10 inputs, layers (10, 5, 6, 1), 2 iterations",
        _recipe(L_LAYER_PUBLIC, layers_dims=[10, 5, 6, 1], learning_rate=0.0075, num_iterations=2),
        "visible",
        **PUBLIC_CHECKS,
    ),
    _case(
        "L_layer_model",
        "public-2",
        "public test: learning rate 0.02, 3 iterations",
        _recipe(L_LAYER_PUBLIC, layers_dims=[10, 5, 6, 1], learning_rate=0.02, num_iterations=3),
        "visible",
        checks=["equality"],
    ),
    _case(
        "L_layer_model",
        "five-layers",
        "five layers (12, 8, 6, 4, 3, 1), 0/1 labels, 250 iterations",
        _recipe(
            _random(17, 12, 20, "binary"), layers_dims=[12, 8, 6, 4, 3, 1], learning_rate=0.0075, num_iterations=250
        ),
    ),
    _case(
        "L_layer_model",
        "two-layers",
        "a single hidden layer (6, 4, 1), real-valued labels, 120 iterations",
        _recipe(_random(19, 6, 14, "real"), layers_dims=[6, 4, 1], learning_rate=0.05, num_iterations=120),
    ),
    _case(
        "L_layer_model",
        "print-cost",
        "print_cost=True over 201 iterations: the printed lines",
        _recipe(
            _random(23, 7, 15, "binary"),
            layers_dims=[7, 5, 3, 1],
            learning_rate=0.0075,
            num_iterations=201,
            print_cost=True,
        ),
        compare=("costs", "parameters", "stdout"),
    ),
    _case(
        "L_layer_model",
        "globals",
        "called while the notebook's globals hold other sizes and rates",
        _recipe(_random(29, 9, 12, "binary"), layers_dims=[9, 4, 2, 1], learning_rate=0.02, num_iterations=110),
        misleading_globals={"layers_dims": [12288, 20, 7, 5, 1], "learning_rate": 0.0075, "num_iterations": 2500},
    ),
    _case(
        "L_layer_model",
        "inputs-unchanged",
        "X and Y are left as they were passed in",
        _recipe(_random(31, 7, 9, "binary"), layers_dims=[7, 4, 3, 1], learning_rate=0.01, num_iterations=5),
        compare=("costs", "parameters", "inputs_unchanged"),
    ),
    _case(
        "L_layer_model",
        "curve",
        "a learning curve on 16 images, layers (12288, 5, 3, 1), 600 iterations",
        _recipe(IMAGES, layers_dims=[12288, 5, 3, 1], learning_rate=0.0075, num_iterations=600),
    ),
]


_case_images: dict[str, object] = {}


def prepare_workdir(folder: Path) -> None:
    """Write the input files the cases read (a slice of the synthetic images) into `folder`."""
    import h5py

    from reference.synthetic import synthetic_split

    if not _case_images:  # generating the images costs more than grading a small case: do it once
        _case_images["images"], _case_images["labels"] = synthetic_split("train", CASE_IMAGE_COUNT)
    with h5py.File(Path(folder) / CASE_IMAGES, "w") as f:
        f.create_dataset("train_set_x", data=_case_images["images"])
        f.create_dataset("train_set_y", data=_case_images["labels"])


def expected_outputs(case, folder: Path) -> dict:
    """The reference's answer on one case: {"returned": (parameters, costs), "stdout": lines}."""
    from reference.expected import case_outputs

    return case_outputs(case, folder)
