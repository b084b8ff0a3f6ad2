"""The numpy reference for the cat / non-cat assignment: it defines what a correct answer is.

`helpers` exposes the assignment's support module, `models` holds the graded functions as the
template has them, `training` trains faster with the identical numbers, and `synthetic` makes a
stand-in dataset when the real one is absent.
"""
