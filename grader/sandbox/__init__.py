"""Run untrusted submission code in limited child processes of a warm, reference-free fork server.

``server`` is a NumPy-only process (no TensorFlow, no reference answers) that forks one child
per (submission, function); ``runner`` is what that child does; ``client`` is the parent's handle.
"""
