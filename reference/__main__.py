"""Command line of the reference: train, bench and synth.

python -m reference train --data DIR [--model two_layer|L_layer|both] [--iterations N]
python -m reference bench --data DIR [--iterations N]
python -m reference synth --out DIR
"""

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

from reference import models, training
from reference.helpers import L_model_forward, load_data
from reference.synthetic import write_synthetic_dataset

ARCHITECTURES = {
    "two_layer": ("two_layer_model", (12288, 7, 1)),
    "L_layer": ("L_layer_model", [12288, 20, 7, 5, 1]),
}


def flatten(images: np.ndarray) -> np.ndarray:
    """(m, 64, 64, 3) uint8 images -> (12288, m) floats in [0, 1], as the notebook does."""
    return images.reshape(images.shape[0], -1).T / 255.0


def accuracy(X: np.ndarray, y: np.ndarray, parameters: dict) -> float:
    """The notebook's predict() accuracy, without its print."""
    probas, _ = L_model_forward(X, parameters)
    p = (probas > 0.5).astype(float)
    return float(np.sum((p == y) / X.shape[1]))


def load_flat(data_dir: str):
    train_x, train_y, test_x, test_y, _ = load_data(data_dir)
    return flatten(train_x), train_y, flatten(test_x), test_y


def train_one(model: str, data, iterations: int, learning_rate: float = 0.0075) -> dict:
    """Train one architecture with the fast loop and describe the result as plain data."""
    name, dims = ARCHITECTURES[model]
    train_x, train_y, test_x, test_y = data
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        parameters, costs = training.FAST_FUNCTIONS[name](
            train_x, train_y, dims, learning_rate=learning_rate, num_iterations=iterations
        )
    seconds = time.perf_counter() - start
    recorded = {str(100 * k): float(c) for k, c in enumerate(costs)}
    for line in printed.getvalue().splitlines():  # the template always prints the last iteration
        iteration, value = line.removeprefix("Cost after iteration ").split(": ")
        recorded[iteration] = float(value)
    return {
        "model": model,
        "layers_dims": list(dims),
        "costs": recorded,
        "train_accuracy": accuracy(train_x, train_y, parameters),
        "test_accuracy": accuracy(test_x, test_y, parameters),
        "seconds": round(seconds, 3),
    }


def bench(data, iterations: int) -> dict:
    """Time the textbook loop and the reference loop on both models, in this process."""
    train_x, train_y = data[0], data[1]
    textbook = fast = 0.0
    identical = True
    for name, dims in ARCHITECTURES.values():
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            slow_params, slow_costs = models.GRADED_FUNCTIONS[name](train_x, train_y, dims, num_iterations=iterations)
            textbook += time.perf_counter() - start
            start = time.perf_counter()
            fast_params, fast_costs = training.FAST_FUNCTIONS[name](train_x, train_y, dims, num_iterations=iterations)
            fast += time.perf_counter() - start
        identical &= all(np.array_equal(slow_params[k], fast_params[k]) for k in slow_params)
        identical &= [float(c) for c in slow_costs] == [float(c) for c in fast_costs]
    return {
        "iterations": iterations,
        "textbook_seconds": round(textbook, 2),
        "reference_seconds": round(fast, 2),
        "speedup": round(textbook / fast, 2),
        "identical_results": bool(identical),
    }


def _data_dir(value: str) -> str:
    folder = Path(value)
    missing = [n for n in ("train_catvnoncat.h5", "test_catvnoncat.h5") if not (folder / n).is_file()]
    if missing:
        raise argparse.ArgumentTypeError(
            f"{folder} lacks {', '.join(missing)}; point --data at the folder holding both files "
            "(make a synthetic one with: python -m reference synth --out DIR)"
        )
    return str(folder)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reference", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    train = verbs.add_parser("train", help="train the notebook's models, print one JSON object per model")
    train.add_argument("--data", type=_data_dir, required=True, help="folder with the two .h5 files")
    train.add_argument("--model", choices=["two_layer", "L_layer", "both"], default="both")
    train.add_argument("--iterations", type=_positive, default=2500, help="default: 2500, as in the notebook")
    timing = verbs.add_parser("bench", help="time the reference against the textbook loop (same process)")
    timing.add_argument("--data", type=_data_dir, required=True, help="folder with the two .h5 files")
    timing.add_argument("--iterations", type=_positive, default=2500)
    synth = verbs.add_parser("synth", help="write a deterministic synthetic dataset")
    synth.add_argument("--out", required=True, help="folder to write the two .h5 files into")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verb == "synth":
        out = write_synthetic_dataset(args.out)
        print(f"wrote {out / 'train_catvnoncat.h5'} and {out / 'test_catvnoncat.h5'}")
        return 0
    data = load_flat(args.data)
    if args.verb == "train":
        chosen = ["two_layer", "L_layer"] if args.model == "both" else [args.model]
        for model in chosen:
            print(json.dumps(train_one(model, data, args.iterations)), flush=True)
        return 0
    print(json.dumps(bench(data, args.iterations)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
