"""The training lab as a service (``/training`` and ``/api/training``): a run is checked
(:func:`app.nets.lab.config.parse_config`), trained as a job in a lane of its own
(:mod:`.lab`), followed as it learns (:mod:`.runs`), and the trained network served as a
network of the app for the server's lifetime (:mod:`.store`). The page's data is
:mod:`.page`."""
