"""The cross-paper benchmark's Dask graph: a real scheduler with two workers gives the in-process numbers, and a run
killed midway resumes from its cached tasks (notebook 08; core.tasks)."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import dask
import pandas as pd
import pytest

from xai_nb_utils.core.tasks import compute, dask_client, scheduler_choice
from xai_nb_utils.models.training import trained_model
from xai_nb_utils.studies import cross_benchmark as study

METHODS = ("gradcam", "saliency", "integrated_gradients", "random", "fake_cam")
CONFIG = study.benchmark_config("smoke", models=("scene_cnn",), methods=METHODS, n_images=3)


def _scores(results) -> pd.DataFrame:
    table = study.scores_table(results, CONFIG)
    table = table[table.metric != "seconds"]  # wall time differs between runs by nature
    return table.sort_values(["model", "method", "metric", "image"]).reset_index(drop=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(arguments, env):
    return subprocess.Popen([str(Path(sys.executable).parent / "dask"), *arguments], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_scheduler_choice_names_the_parameter_and_the_allowed_values(monkeypatch):
    monkeypatch.delenv("XAI_DASK_SCHEDULER", raising=False)
    assert scheduler_choice(None) == "local"
    monkeypatch.setenv("XAI_DASK_SCHEDULER", "tcp://10.0.0.5:8786")
    assert scheduler_choice(None) == "tcp://10.0.0.5:8786"
    assert scheduler_choice("sync") == "sync"
    with pytest.raises(ValueError, match=r"'scheduler'.*'local', 'sync'.*tcp://"):
        scheduler_choice("threads")


def test_a_real_scheduler_with_two_workers_gives_the_in_process_numbers(tmp_path, monkeypatch):
    trained_model("scene_cnn", "smoke")  # trained (or loaded) once, before the workers load it from the cache
    port = _free_port()
    env = {**os.environ, "XAI_TASK_CACHE_DIR": str(tmp_path / "cluster-tasks"), "OMP_NUM_THREADS": "1"}
    processes = [_start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], env)]
    try:
        time.sleep(2)
        processes += [_start(["worker", f"tcp://127.0.0.1:{port}", "--host", "127.0.0.1", "--nthreads", "1",
                              "--no-dashboard"], env) for _ in range(2)]
        with dask_client(f"tcp://127.0.0.1:{port}") as client:
            client.wait_for_workers(2, timeout=120)
            assert len(client.scheduler_info()["workers"]) == 2
            on_cluster = compute(study.benchmark_graph(CONFIG), client)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
    monkeypatch.setenv("XAI_TASK_CACHE_DIR", str(tmp_path / "sync-tasks"))
    in_process = compute(study.benchmark_graph(CONFIG), None)
    assert len(list((tmp_path / "cluster-tasks").rglob("*.pt"))) > 0  # the workers did the work
    pd.testing.assert_frame_equal(_scores(on_cluster), _scores(in_process), atol=1e-6, rtol=0)


def _start_time(seconds: float) -> float:
    started = time.time()
    time.sleep(seconds)
    return started


def test_higher_priority_tasks_start_first_on_a_cluster_and_results_keep_their_names():
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    try:
        tasks = {f"short {i}": dask.delayed(_start_time, pure=False)(0.05) for i in range(10)}
        tasks.update({f"long {i}": dask.delayed(_start_time, pure=False)(0.5) for i in range(2)})
        with dask_client("local", 2) as client:
            client.wait_for_workers(2, timeout=120)  # with one worker up, it would queue both long tasks itself
            started = compute(tasks, client, priority={"long 0": 1, "long 1": 1})
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert list(started) == list(tasks)
    assert max(started["long 0"], started["long 1"]) < min(started[f"short {i}"] for i in range(10))
    assert study.task_priorities({("scene_cnn", "igos_pp", 0, "AD"): None, ("scene_cnn", "gradcam", 0, "AD"): None},
                                 study.benchmark_config("smoke")) == {("scene_cnn", "igos_pp", 0, "AD"): 1,
                                                                      ("scene_cnn", "gradcam", 0, "AD"): 0}


RUN_GRAPH = """
from xai_nb_utils.core.tasks import compute
from xai_nb_utils.studies import cross_benchmark as study
config = study.benchmark_config("smoke", models=("scene_cnn",), methods={methods!r}, n_images=3)
compute(study.benchmark_graph(config), None)
"""


def test_a_killed_run_resumes_from_its_cached_tasks(tmp_path, monkeypatch):
    trained_model("scene_cnn", "smoke")
    tasks = tmp_path / "tasks"
    monkeypatch.setenv("XAI_TASK_CACHE_DIR", str(tasks))
    process = subprocess.Popen([sys.executable, "-c", RUN_GRAPH.format(methods=METHODS)],
                               env={**os.environ, "XAI_TASK_CACHE_DIR": str(tasks), "OMP_NUM_THREADS": "1"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while len(list(tasks.rglob("*.pt"))) < 8 and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.kill()
    process.wait()
    done_before = {path: path.stat().st_mtime_ns for path in tasks.rglob("*.pt")}
    graph = study.benchmark_graph(CONFIG)
    assert 8 <= len(done_before) < len(graph), "the run was killed midway, with some tasks done"
    results = compute(graph, None)
    assert len(results) == len(graph)
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in done_before.items()), \
        "a task finished before the kill was computed again"
    after = {path: path.stat().st_mtime_ns for path in tasks.rglob("*.pt")}
    compute(study.benchmark_graph(CONFIG), None)  # a warm rerun computes nothing
    assert {path: path.stat().st_mtime_ns for path in tasks.rglob("*.pt")} == after


def test_a_heavy_loop_gives_the_same_results_here_and_on_a_local_cluster():
    """core.tasks.run_calls, the helper the iGOS++ (04) and DRE (06) studies run their loops through."""
    from xai_nb_utils.core.tasks import run_calls
    from xai_nb_utils.studies.igos_ablations import evaluate_method

    trained = trained_model("scene_cnn", "smoke")
    x, y = trained.dataset.test.x[:2], trained.dataset.test.y[:2]
    calls = {method: (trained.model, x, y, method) for method in ("saliency", "gradcam")}
    here, there = run_calls(evaluate_method, calls, "sync"), run_calls(evaluate_method, calls, "local")
    assert list(here) == list(there) == list(calls)
    for method in calls:
        assert (here[method].maps - there[method].maps).abs().max() < 1e-6
        assert (here[method].curves["insertion"].auc == there[method].curves["insertion"].auc).all()
