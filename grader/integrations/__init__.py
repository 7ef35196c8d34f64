"""The tools a course already uses: nbgrader (``nbgrader_course`` runs its command line,
``nbgrader_export`` fills its gradebook), Gradescope (``gradescope`` builds the autograder zip,
``gradescope_run`` runs inside it) and Jupyter (``notebooks`` executes a notebook headless)."""
