"""`make init DATA=file.csv TARGET=column ENV=name`: a first `conf/<name>/` inferred from a CSV file.

`infer` reads the data and proposes a data contract, fill rules and review notes, or refuses with one line when
no sound contract exists; `baseline` measures a promotion floor; `write` renders the conf files with comments;
`command` ties them together and writes `conf/<name>/` atomically. A person reviews what it printed.
"""
