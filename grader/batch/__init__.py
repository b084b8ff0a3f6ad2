"""Grading many submissions: collecting them from folders and zips, and the pool of workers."""
