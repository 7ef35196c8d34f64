"""Run untrusted submission code in confined child processes of a warm, reference-free fork server.

``server`` is a NumPy-only process (no TensorFlow unless an exercise needs it, no reference
answers) that forks one child per submission (``child``: its frames and deadlines); ``runner``
is what that child does; ``jail`` confines it and leaves nothing running after it;
``reach`` is what it can read wherever the project is installed; ``processes`` names how it
ended; ``frames`` is how they all talk; ``client`` is the parent's handle; ``faults`` tells a
broken sandbox from a student's mistake.
"""
