"""``ddcf probe``: cold-start a new target model from a small probe set (plan, fit) and plan a seed budget.

``config`` (options), ``plan`` (which seed questions a new model should answer first), ``fit`` (the new model's
row of the predictor from its probe verdicts, everything else frozen), ``budget`` (which (model, question) pairs
a set of collaborators should run), ``stage`` (the actions), ``cli`` (the command line).
"""
