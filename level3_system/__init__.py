"""Level 3: the churn problem as an orchestrated, validated, tracked and served system."""
