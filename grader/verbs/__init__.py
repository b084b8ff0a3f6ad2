"""The verbs of the `grader` command, one module each: release, check, grade, expected, bench.

Each verb is a function with keyword arguments; only grader.cli knows about the command line.
"""
