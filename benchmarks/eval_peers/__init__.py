"""Helpers of ``benchmarks/eval_throughput.py``: local-data set-ups for the peer tools (lm-evaluation-harness,
EvalScope), which cannot reach the dataset hubs here."""
