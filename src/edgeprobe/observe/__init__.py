"""The I/O stages of a run, in pipeline order: resolve (each node's addresses), geodns (who
gets which edge), sample (which media), origin (the bucket's own answer), canary (each edge's
path to the bucket), fetch (every node × address × object). Each returns observations
(observations.py) and never raises for a remote failure: a failed check is data. Nothing here
judges; analyze/ does."""
