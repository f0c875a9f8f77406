"""`make experiment`: the model families of conf/ compared on the levels' split, and the rule's recommendation."""
