"""Your own networks: a PyTorch module described for the app (:mod:`.model`), made safe to
share and differentiate (:mod:`.prepare`), preprocessed for any input shape
(:mod:`.preprocessing`), loaded from ``module:attr`` (:mod:`.loading`) and served beside the
zoo (:mod:`.serving`). The public face is the ``convscope`` package."""
