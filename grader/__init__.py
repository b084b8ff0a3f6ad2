"""An autograder for Jupyter notebook assignments: student code runs in its own kernel process,
the expected values stay in the grader's process, and only plain arrays cross between them."""

__version__ = "0.1.0"
