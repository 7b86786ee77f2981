"""Built-in evaluation benchmarks, one module each (see :mod:`evalray.benchmarks.registry`)."""
