"""Execute a notebook headless with a real Jupyter kernel (nbclient), quietly."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nbclient
import nbformat

from grader.quiet import QUIET_ENV


def execute(path: str | os.PathLike, *, timeout: int = 600, allow_errors: bool = False, cwd=None):
    """Run every cell of the notebook at ``path``; returns the executed notebook.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised (unless ``allow_errors``).
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    os.environ.update({k: os.environ.get(k, v) for k, v in {**QUIET_ENV, "MPLBACKEND": "Agg"}.items()})
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                                     resources={"metadata": {"path": str(cwd or path.parent)}})
    # the kernel process's own log (e.g. ipykernel's TCP warning) is not the notebook's output
    client.execute(stderr=subprocess.DEVNULL)
    return nb


def errors(nb) -> list[str]:
    """``"ename: evalue"`` for every error output in an executed notebook."""
    return [f"{o.get('ename')}: {o.get('evalue')}" for cell in nb.cells if cell.cell_type == "code"
            for o in cell.get("outputs", []) if o.get("output_type") == "error"]
