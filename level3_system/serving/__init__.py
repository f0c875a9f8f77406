"""Level 3 serving: a FastAPI service for `models:/telco-churn@champion` (see app.py)."""
