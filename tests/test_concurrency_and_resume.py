"""Concurrent runs on one cache build each entry once; an interrupted report resumes where it stopped."""
import json
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


WAIT_FOR_OTHER = """
import pathlib, time
from xai_nb_utils.core.results import Recorder
folder = pathlib.Path(r"{folder}")
(folder / "{stem}").touch()
deadline = time.time() + 120
while not (folder / "{other}").exists() and time.time() < deadline:
    time.sleep(0.2)
Recorder("{stem}", profile=profile).record("saw the other running", (folder / "{other}").exists())
"""


WAIT_FOR_FAILURE = """
import pathlib, time
run_log = pathlib.Path(r"{run_log}")
deadline = time.time() + 120
while time.time() < deadline and "failed" not in (run_log.read_text() if run_log.exists() else ""):
    time.sleep(0.2)
"""


def test_two_jobs_run_two_notebooks_at_once_and_a_failure_stops_the_rest(tmp_path, capfd):
    notebooks, reports, started = tmp_path / "nb", tmp_path / "reports", tmp_path / "started"
    notebooks.mkdir(), started.mkdir()
    # each of 01 and 02 waits until the other has started: only a concurrent run sees both
    for stem, other in (("01_a", "02_b"), ("02_b", "01_a")):
        _notebook(notebooks / f"{stem}.ipynb", WAIT_FOR_OTHER.format(folder=started, stem=stem, other=other))
    assert report.run_all("smoke", notebooks_dir=notebooks, output_dir=reports, jobs=2) == 0
    for stem in ("01_a", "02_b"):
        assert '"saw the other running": true' in (reports / "results" / f"{stem}.json").read_text()
    assert "with 2 job(s) (finished)" in (reports / "index.html").read_text()

    _notebook(notebooks / "03_broken.ipynb", "raise ValueError('deliberate failure')")
    # 04 ends only once the runner has logged 03's failure, so 05 cannot take its place in between
    _notebook(notebooks / "04_after.ipynb", WAIT_FOR_FAILURE.format(run_log=reports / report.RUN_LOG_NAME))
    _notebook(notebooks / "05_never.ipynb", "x = 1")
    assert report.run_all("smoke", notebooks_dir=notebooks, output_dir=reports, only=["03", "04", "05"],
                          jobs=2) == 1
    assert "03_broken.ipynb failed in cell" in capfd.readouterr().err  # printed by the worker process
    assert not (reports / "05_never.ipynb").exists()  # 04 ran beside 03; nothing starts after the failure
    assert json.loads((reports / report.RUN_LOG_NAME).read_text())["04_after"]["status"] == "ok"


def test_jobs_must_be_a_positive_whole_number(tmp_path, capsys):
    notebooks = tmp_path / "nb"
    notebooks.mkdir()
    _notebook(notebooks / "01_a.ipynb", "x = 1")
    assert report.run_all("smoke", notebooks_dir=notebooks, output_dir=tmp_path / "r", jobs=0) == 2
    assert "--jobs must be a whole number >= 1, got 0" in capsys.readouterr().err


def test_concurrent_runs_start_the_longest_notebooks_first(tmp_path):
    pending = [(tmp_path / f"{stem}.ipynb", f"[{i}/4]", "f") for i, stem in enumerate(("00_a", "01_b", "02_c", "03_d"))]
    run_log = {"00_a": {"seconds": 5.0}, "01_b": {"seconds": 300.0}, "03_d": {"seconds": 40.0}}
    order = [notebook.stem for notebook, _, _ in report.longest_first(pending, run_log)]
    assert order == ["02_c", "01_b", "03_d", "00_a"]  # never run (unknown) first, then by the last run's time
