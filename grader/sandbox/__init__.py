"""Run untrusted submission code in limited child processes of a warm, reference-free fork server.

``server`` is a NumPy-only process (no TensorFlow, no reference answers) that forks one child
per submission (``child``: its frames and deadlines); ``runner`` is what that child does;
``processes`` keeps the server's children apart and leaves nothing running; ``frames`` is how
they all talk; ``client`` is the parent's handle.
"""
