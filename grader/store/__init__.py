"""Where results are kept: the gradebook, one row of records per submission."""
