"""Who gets a retention offer, decided in money: the economics, the policy a version carries, the budget.

Levels 1 and 2 label a customer a churner at p ≥ 0.5 and stop there. Level 3 keeps that label (the metrics stay
identical across levels) and adds the decision a business acts on: offer when the expected value of an offer is
worth it. `policy.py` holds the pure functions every part uses (training chooses the threshold with them,
serving and batch scoring apply them, monitoring measures what they earned); `artifacts.py` stores the chosen
policy with the registered version, as it stores the contract.
"""
