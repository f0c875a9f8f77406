"""Runtime plumbing: reaching servers, temporary Prefect servers, locks, retries, terminal and trace logging.

Nothing here imports a concern package (training, serving, scoring, monitoring) or the lifecycle: every layer above
may use it. `tests/test_import_graph.py` keeps the project free of import cycles.
"""
