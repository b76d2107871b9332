"""The training lab's background warm-up: it prepares the digits only while the app is
otherwise idle, and a paused warm-up never keeps a training waiting."""

from __future__ import annotations

import threading

import pytest
import torch

from app.nets.lab import data
from app.nets.mnist import split
from app.nets.preprocess import LENET, MNIST
from app.nets.training import prepare
from app.runtime.workers import Cores
from app.services.training.lab import _Stopped, when_idle


def test_the_pause_waits_while_the_app_is_busy_and_raises_when_it_stops():
    cores, stop = Cores(), threading.Event()
    pause = when_idle(cores, stop)
    pause()  # idle: at once
    cores.requests = 1
    waited = threading.Event()

    def pausing() -> None:
        pause()
        waited.set()

    thread = threading.Thread(target=pausing)
    thread.start()
    assert not waited.wait(0.3)  # a request in flight: it waits
    cores.requests = 0
    assert waited.wait(5)
    thread.join(5)
    cores.running = 1  # a computation: waits again, until the app stops
    stopper = threading.Timer(0.2, stop.set)
    stopper.start()
    with pytest.raises(_Stopped):
        pause()
    stopper.join()
    when_idle(None, threading.Event())()  # no gauge: returns at once


@pytest.fixture
def few_digits():
    """A split of 30 training and 10 held-out digits."""
    train, held_out = split()
    return train.subset(torch.arange(len(train)) % 400 < 3), held_out.subset(
        torch.arange(len(held_out)) % 100 < 1
    )


def test_a_paused_warm_up_keeps_no_training_waiting(few_digits):
    """While the warm-up waits in its pause, ``lab_data`` (a training starting) prepares
    the pictures itself instead of waiting for the lock; the first made is kept."""
    store = data.LabDataStore(lambda: few_digits)  # the app's own store is left alone
    paused, release = threading.Event(), threading.Event()

    def pause() -> None:
        paused.set()
        assert release.wait(10)

    warming = threading.Thread(target=store.warm, args=(MNIST, pause))
    warming.start()
    assert paused.wait(10)
    found = store.lab_data(MNIST)  # does not wait for the paused warm-up
    release.set()
    warming.join(10)
    assert not warming.is_alive()
    assert store.warm(MNIST, lambda: None) is found
    train, held_out = few_digits
    assert torch.equal(found.train_unit, prepare(MNIST, train))
    assert torch.equal(found.test_x, MNIST.scale(prepare(MNIST, held_out)))


def test_the_warm_up_prepares_what_lab_data_would(few_digits):
    store = data.LabDataStore(lambda: few_digits)
    calls = []
    warmed = store.warm(LENET, lambda: calls.append(1))
    assert calls  # it paused between pieces of work
    train, _ = few_digits
    assert warmed.train_unit.shape[-2:] == (32, 32)  # LeNet-5's pictures from MNIST's
    assert torch.equal(warmed.train_unit[:, :, 2:-2, 2:-2], prepare(MNIST, train))
    assert store.lab_data(LENET) is warmed
    assert data.lab_data == data.STORE.lab_data and data.warm == data.STORE.warm
