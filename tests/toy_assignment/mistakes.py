"""What a difference usually means in the toy assignment, in its own words (instructor-only).

The known mistake is a wrong copy in the solution notebook, with its words in assignment.toml;
`ADVICE` is what the manifest cannot say (see grader.judge.advice).
"""

MISTAKES: list = []  # written as wrong copies (the manifest's [[mistake]] tables)

ADVICE = [
    {
        "part": "losses",
        "index": 0,
        "title": "the first loss already differs: the starting point or the loss",
        "explanation": "Nothing has been learnt at step 0: check the starting w and b and how the loss is computed.",
    },
]
