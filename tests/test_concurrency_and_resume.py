"""Concurrent runs on one cache build each entry once; an interrupted report resumes where it stopped."""
import subprocess
import sys
import textwrap

import nbformat

from xai_nb_utils import report

BUILD_ONCE = textwrap.dedent("""
    import sys, time
    from xai_nb_utils.core.cache import cached_torch
    def build():
        with open(sys.argv[2], "a") as log:
            log.write("built\\n")
        time.sleep(2)
        return {"value": 42}
    print(cached_torch(sys.argv[1], build)["value"])
""")


def test_two_processes_on_one_cold_cache_entry_build_it_once(tmp_path):
    entry, log = tmp_path / "cache" / "entry.pt", tmp_path / "builds.txt"
    processes = [subprocess.Popen([sys.executable, "-c", BUILD_ONCE, str(entry), str(log)], stdout=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=120)[0].strip() for process in processes]
    assert outputs == ["42", "42"]
    assert log.read_text().count("built") == 1


def _notebook(path, body):
    cells = [nbformat.v4.new_code_cell('profile = "default"\ndevice = "auto"\nseed = 0',
                                       metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell(textwrap.dedent(body))]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


RECORD = """
from xai_nb_utils.core.results import Recorder
import pathlib
Recorder("{stem}", profile=profile).record("done", 1)
pathlib.Path(r"{runs}").open("a").write("{stem}\\n")
"""


def test_an_interrupted_report_resumes_at_the_notebook_it_stopped_in(tmp_path):
    notebooks, reports, runs, flag = tmp_path / "nb", tmp_path / "reports", tmp_path / "runs.txt", tmp_path / "ok"
    notebooks.mkdir()
    _notebook(notebooks / "01_first.ipynb", RECORD.format(stem="01_first", runs=runs))
    _notebook(notebooks / "02_flaky.ipynb", f"import pathlib\nassert pathlib.Path(r'{flag}').exists(), 'stopped'\n"
              + RECORD.format(stem="02_flaky", runs=runs))
    _notebook(notebooks / "03_last.ipynb", RECORD.format(stem="03_last", runs=runs))

    assert report.run_all("smoke", notebooks_dir=notebooks, output_dir=reports, resume=True) == 1
    assert runs.read_text().split() == ["01_first"]
    flag.touch()
    assert report.run_all("smoke", notebooks_dir=notebooks, output_dir=reports, resume=True) == 0
    assert runs.read_text().split() == ["01_first", "02_flaky", "03_last"]  # 01 was not run again
    # after a finished run, a resumed run starts from the beginning
    assert report.run_all("smoke", notebooks_dir=notebooks, output_dir=reports, only=["01"], resume=True) == 0
    assert runs.read_text().split()[-1] == "01_first"
