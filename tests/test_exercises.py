"""``core.exercises``: an exercise is answered exactly when the run has its parameters, with the command to run."""
import pytest

from xai_nb_utils.core.exercises import Exercise, answer_exercises, papermill_command


class FakeRun:
    notebook, profile = "02_ax_co_score_gaps", "smoke"

    def __init__(self):
        self.records = {}

    def record(self, key, value):
        self.records[key] = value
        return value


EXERCISES = [Exercise("Which method flips most?", lambda: "LayerGradCam, 51 %"),
             Exercise("Does the gap survive softmax?", lambda: "yes, 3 of 4", {"gap_output": "softmax"})]


def test_answered_only_with_its_parameters(capsys):
    run = FakeRun()
    rows = answer_exercises(run, EXERCISES, gap_output="logit")
    assert [row["answered"] for row in rows] == [True, False]
    assert rows[0]["answer"] == "LayerGradCam, 51 %" and rows[1]["answer"] is None
    assert run.records["exercises"] == rows
    printed = capsys.readouterr().out
    assert "printed here when the notebook runs with gap_output = 'softmax' (this run: gap_output = 'logit')" in printed
    rows = answer_exercises(FakeRun(), EXERCISES, gap_output="softmax")
    assert rows[1]["answer"] == "yes, 3 of 4"
    assert rows[1]["command"] == ("papermill notebooks/02_ax_co_score_gaps.ipynb /tmp/02_ax_co_score_gaps_exercise.ipynb "
                                  "-k xai-workbook -p profile smoke -p gap_output softmax")


def test_missing_current_value_is_a_clear_error():
    with pytest.raises(ValueError, match=r"parameters \['gap_output'\].*gap_output=\.\.\."):
        answer_exercises(FakeRun(), EXERCISES)


def test_command_quotes_values():
    assert papermill_command("01_x", {"name": "a b"}).endswith("-p name 'a b'")
