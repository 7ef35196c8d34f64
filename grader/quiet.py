"""Import TensorFlow and Keras without a word on stderr: see ``course.quiet``, re-exported here.

The implementation lives on the student side so that a lesson cell can show a real Keras layer
quietly too (``from course import quiet; keras = quiet.keras()``); the instructor side keeps
importing it from here.
"""
from course.quiet import QUIET_ENV, keras, stderr_silenced

__all__ = ["QUIET_ENV", "keras", "stderr_silenced"]
