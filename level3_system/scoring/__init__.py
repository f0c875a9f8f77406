"""Batch scoring: a file, a folder of Parquet partitions or a glob of customers, scored by one pinned version.

`inputs.py` finds what to read; `batch.py` checks and scores one partition (the contract's checks row by row, level
2's cleaning, the service's fast path); `output.py` stages the output and moves it into place; `engine.py` chooses
in-process or Dask (a local cluster, or a scheduler address); `flow.py` is the Prefect flow `score`; `synth.py`
writes large inputs drawn from the real data (`make synth`); `command.py` is `make score` and `make synth`.
"""
