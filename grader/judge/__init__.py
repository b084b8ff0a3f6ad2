"""Judging outside the kernel: comparison with the expected values, diagnosis of mistakes, source rules."""
