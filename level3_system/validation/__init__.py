"""Validation gates: the data contract turned into checks (`checks.py`), run by Great Expectations (`gx.py`)
on the raw file and the model input table (`gates.py`)."""
