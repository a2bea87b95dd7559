""""Try it" exercises that close each paper notebook.

An :class:`Exercise` is a question, the papermill parameters of the run that answers it (none: this run or its
widget answers it) and a function that words the answer from that run's computed results. ``answer_exercises``
prints every question with the command to run, the answer when this run has the exercise's parameters, and
records the lot under ``exercises``.
"""
import shlex
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Exercise:
    question: str
    answer: Callable[[], str]  # the answer in words, from the results of a run with ``parameters``
    parameters: dict = field(default_factory=dict)  # papermill parameters of the run that answers it


def papermill_command(notebook: str, parameters: dict) -> str:
    """The shell command that runs ``notebooks/<notebook>.ipynb`` with ``parameters`` (workbook kernel)."""
    options = " ".join(f"-p {name} {shlex.quote(str(value))}" for name, value in parameters.items())
    return f"papermill notebooks/{notebook}.ipynb /tmp/{notebook}_exercise.ipynb -k xai-workbook {options}"


def answer_exercises(run, exercises: list, **current) -> list[dict]:
    """Print and record (``exercises``) each exercise: its question, the command that answers it, and its answer
    when ``current`` (this run's values of the notebook parameters) matches the exercise's parameters."""
    rows = []
    for number, exercise in enumerate(exercises, 1):
        unknown = set(exercise.parameters) - set(current)
        if unknown:
            raise ValueError(f"exercise {number} uses parameters {sorted(unknown)} that answer_exercises was not "
                             f"given (pass their current values: {', '.join(f'{n}=...' for n in sorted(unknown))})")
        answered = all(current[name] == value for name, value in exercise.parameters.items())
        print(f"Exercise {number}. {exercise.question}")
        command = None
        if exercise.parameters:
            command = papermill_command(run.notebook, {"profile": run.profile, **exercise.parameters})
            print(f"  Run: {command}")
        answer = exercise.answer() if answered else None
        if answered:
            print(f"  Answer (from this run): {answer}")
        else:
            wanted = ", ".join(f"{name} = {value!r}" for name, value in exercise.parameters.items())
            now = ", ".join(f"{name} = {current[name]!r}" for name in exercise.parameters)
            print(f"  Answer: printed here when the notebook runs with {wanted} (this run: {now}).")
        print()
        rows.append({"number": number, "question": exercise.question, "parameters": exercise.parameters,
                     "command": command, "answered": answered, "answer": answer})
    run.record("exercises", rows)
    return rows
