"""papermill as :mod:`perflib.run.execute` drives it: the executed notebook is written once, when
execution is over, and still after a failure (the failure page shows the cells run so far)."""
from __future__ import annotations

import nbformat
import papermill
import papermill.engines
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from perflib.run import execute, kernels


def _notebook(path, *sources):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, str(path))
    return path


def _writes(monkeypatch) -> list[str]:
    written: list[str] = []
    real = papermill.engines.write_ipynb

    def counting(nb, path):
        written.append(str(path))
        return real(nb, path)
    monkeypatch.setattr(papermill.engines, "write_ipynb", counting)
    return written


def test_the_executed_notebook_is_written_once_with_every_output(tmp_path, monkeypatch):
    written = _writes(monkeypatch)
    src = _notebook(tmp_path / "in.ipynb", "print('一')", "x = 2", "x + 3")
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(src), str(out), engine_name=execute._engine(), progress_bar=False,
                               kernel_manager_class=kernels.kernel_manager_class())
    assert written == [str(out)]          # papermill's own engine writes it 2 × 3 cells + 2 times
    nb = nbformat.read(str(out), as_version=4)
    assert [o["text"] for o in nb.cells[0].outputs] == ["一\n"]
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "5"


def test_after_a_failing_cell_the_cells_run_so_far_are_written(tmp_path, monkeypatch):
    written = _writes(monkeypatch)
    src = _notebook(tmp_path / "in.ipynb", "print('前')", "1 / 0", "print('后')")
    out = tmp_path / "out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(str(src), str(out), engine_name=execute._engine(), progress_bar=False,
                                   kernel_manager_class=kernels.kernel_manager_class())
    assert written == [str(out)]
    nb = nbformat.read(str(out), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [o["text"] for o in code[0].outputs] == ["前\n"]
    assert code[1].outputs[0]["ename"] == "ZeroDivisionError" and code[2].outputs == []
