"""The system run as processes: `make platform` (a Prefect server, the deployments, the service), the deployments
themselves, `make demo-loop`, `make ui`, and the bootstrap that gives a fresh clone its data and first champion.

These compose the concern packages; no concern package imports them.
"""
