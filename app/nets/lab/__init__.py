"""The training lab's computation: which networks it trains (:mod:`.architectures`), the
settings of a run and their limits (:mod:`.config`), the digits (:mod:`.data`), the training
loop that records what a lecture shows while it learns (:mod:`.loop`, :mod:`.probes`) and
the held-out report at the end (:mod:`.report`). No HTTP here: the service
(``app.services.training``) runs it as a job."""
