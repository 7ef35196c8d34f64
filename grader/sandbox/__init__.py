"""Run untrusted submission code in limited child processes of a warm, reference-free fork server.

``server`` is a NumPy-only process (no TensorFlow, no reference answers) that forks one child
per submission; ``runner`` is what that child does; ``frames`` is how they talk; ``client`` is
the parent's handle.
"""
