"""The model's lifecycle: the registry (versions, aliases, what a version carries) and the promotion rule.

Every concern package (training, serving, scoring, monitoring) reaches MLflow through `registry` and judges a
version through `promotion`; nothing here imports a concern package.
"""
