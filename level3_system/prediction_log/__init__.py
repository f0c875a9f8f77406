"""The prediction log: every scored row with its version and features, and the outcomes that arrive later.

`schema.py` declares the two tables (SQLAlchemy Core: an embedded SQLite file by default, PostgreSQL by a URL
setting); `writer.py` writes scored rows off the request path, in batches, from a bounded queue; `store.py`
records feedback and reads windows for monitoring and labelled rows for retraining.
"""
