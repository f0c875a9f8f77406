"""Level 2: the churn problem as a Kedro project (package of the project at the repository root)."""

__version__ = "0.1.0"
