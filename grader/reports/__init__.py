"""What people read after a run: each student's page (``feedback``), the class report
(``class_report``) and the plain-text tables a command prints (``report``)."""
