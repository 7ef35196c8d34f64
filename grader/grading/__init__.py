"""``grader grade`` and ``grader plan``: a class graded *and judged* where its submissions run,
files written by one process.

``grade`` finds the submissions (``submissions``), has the Keras answers computed once
(``plan``, saved by ``plan_file``) and hands the class to the local pool (``pool``) or a Dask
cluster (``distributed``). There ``worker.Worker`` grades submissions in its fork servers, judges
each reply against the plan's answers and renders the student's files (``judging.finish``): the
local pool runs one per core, a Dask task one per worker thread. The ``grader grade`` process
only writes what comes back, keeps the resume bookkeeping (``results``) and builds the class
report.
"""
