"""Scripts that print figures and ratios about the levels; never part of `make test`."""
