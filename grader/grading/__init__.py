"""Grading a class: submissions graded *and judged* where they run, files written by one process.

``worker.Worker`` grades submissions in its fork servers, judges each reply against the plan's
Keras answers and renders the student's files (``judging.finish``); the local pool (``pool``)
runs one per core, and a Dask task (``grader.distributed``) one per worker thread. The
``grader grade`` process only writes what comes back, keeps the resume bookkeeping and builds
the class report. ``plan_file`` saves and reads the answers computed once (``grader plan``).
"""
