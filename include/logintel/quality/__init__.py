"""Great Expectations: the data-quality suite on new log batches and the findings suite."""
