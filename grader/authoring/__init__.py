"""Making and checking the course itself: the reference solutions (``solutions``, the one source
of truth for each exercise), the released notebooks (``assign``), the public fixtures
(``fixtures``), the pretrained A4 model (``train_reference_model``), the proof that every
solution earns full marks (``check_solutions``), and the sample classes the demo, the tests and
the benchmarks grade (``samples``, ``sample_models``, ``demo``)."""
