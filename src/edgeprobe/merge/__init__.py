"""``edgeprobe merge``: several vantages' runs of one probe file → one run result (run@2):
the runs loaded and checked against each other (runs.py), then judged together
(vantages.py)."""
