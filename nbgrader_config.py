"""nbgrader: this repository is the course; solutions/ is its source, assignments/ its release."""
c = get_config()  # noqa: F821  (nbgrader provides it)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
