"""The command line (``paddlefocal``, ``python -m paddlefocal``), the demo, ``backends.info()``, the
.npy reader and the benchmark harness: tooling, kept apart from the loss's run-time code."""
