"""Monitoring: the served version's traffic (the prediction log) against its own reference, and the verdict.

`window.py` finds the served version and reads its window; `drift.py` compares it with Evidently; `verdict.py`
says whether to alert; `outputs.py` and `tracking.py` publish the result; `flow.py` is the Prefect flow `monitor`;
`command.py` is `make monitor` and `make feedback`; `traffic.py` replays real customers (`make traffic`).
"""
