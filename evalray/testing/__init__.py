"""Test doubles and test helpers, kept apart from the product: nothing in evalray imports this package except the
``evalray mock-server`` command (``tests/unit/test_imports.py`` checks it).

* :mod:`evalray.testing.mockserver` — the OpenAI-compatible server behind ``evalray mock-server``, with injected
  latency (TTFT/TPOT), error statuses, timeouts and truncated streams; fast enough to load-test the load generator;
* :mod:`evalray.testing.process` — run ``evalray mock-server`` in a subprocess on a free port (tests, benchmarks/);
* :mod:`evalray.testing.fake_openai` — a small in-thread aiohttp server with scripted answers, exact character
  log-probs, injected 429s and a record of the Authorization headers (the ``openai`` backend's tests).
"""
