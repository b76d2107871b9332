"""Answers that depend only on their question are computed once: a lecture hall asking for
the same prediction, at the same moment or later, costs one computation."""

from __future__ import annotations

import threading

from app.services import explorer
from app.services.answers import Answers


def test_the_same_question_is_answered_once_even_at_the_same_moment():
    answers = Answers(max_items=8, max_bytes=1 << 20)
    made, entered, release = [], threading.Event(), threading.Event()

    def make() -> tuple[bytes, str]:
        made.append(1)
        entered.set()
        release.wait(10)
        return b'{"answer": 42}', "application/json"

    results: list[tuple[bytes, str]] = []
    askers = [threading.Thread(target=lambda: results.append(answers.get("q", make)))]
    askers[0].start()
    assert entered.wait(10)
    askers += [
        threading.Thread(target=lambda: results.append(answers.get("q", make))) for _ in range(5)
    ]
    for asker in askers[1:]:
        asker.start()
    release.set()
    for asker in askers:
        asker.join(10)
    assert len(made) == 1 and len(results) == 6
    assert set(results) == {(b'{"answer": 42}', "application/json")}
    assert answers.get("q", make) == results[0] and len(made) == 1


def test_a_lecture_hall_predicting_the_cat_costs_one_forward_pass(client, monkeypatch):
    passes = []
    real = explorer.predict_result
    monkeypatch.setattr(
        explorer, "predict_result", lambda *a, **k: passes.append(1) or real(*a, **k)
    )
    client.app.state.answers.cache.clear()  # whatever other tests asked before
    form = {"image_id": (None, "sample-coffee")}
    url = "/api/models/efficientnet-lite0/predict?k=4"
    first = client.post(url, files=form)
    assert first.status_code == 200
    for _ in range(5):
        again = client.post(url, files=form)
        assert (
            again.content == first.content and again.headers["content-type"] == "application/json"
        )
    assert len(passes) == 1
    assert client.post(url.replace("k=4", "k=3"), files=form).status_code == 200
    assert len(passes) == 2  # another question: another answer
