"""The assignment's support module `dnn_app_utils_v3`, loaded from the assignment folder.

The student-facing file is the single source of the helpers, so the reference and the students
always run the same code.
"""

import importlib.util
from pathlib import Path

ASSIGNMENT_DIR = Path(__file__).resolve().parent.parent / "assignments" / "dnn_app"


def _load_support_module():
    path = ASSIGNMENT_DIR / "dnn_app_utils_v3.py"
    spec = importlib.util.spec_from_file_location("dnn_app_utils_v3", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_utils = _load_support_module()

sigmoid = _utils.sigmoid
relu = _utils.relu
relu_backward = _utils.relu_backward
sigmoid_backward = _utils.sigmoid_backward
load_data = _utils.load_data
initialize_parameters = _utils.initialize_parameters
initialize_parameters_deep = _utils.initialize_parameters_deep
linear_forward = _utils.linear_forward
linear_activation_forward = _utils.linear_activation_forward
L_model_forward = _utils.L_model_forward
compute_cost = _utils.compute_cost
linear_backward = _utils.linear_backward
linear_activation_backward = _utils.linear_activation_backward
L_model_backward = _utils.L_model_backward
update_parameters = _utils.update_parameters
predict = _utils.predict
print_mislabeled_images = _utils.print_mislabeled_images
DATA_DIR_VARIABLE = _utils.DATA_DIR_VARIABLE
