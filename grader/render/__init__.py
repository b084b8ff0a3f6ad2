"""The records of a result and what is made of them: results.json, feedback, gradebook, summary, plots."""
