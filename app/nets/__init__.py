"""The model zoo: architectures in plain ``torch.nn`` (LeNet-5, SimpleCNN, EfficientNet-Lite0),
their preprocessing and weights, the registry, training, the architecture summary and predict.

Use the registry (``app.nets.registry``): ``list_models()``, ``get_model_spec(name)``,
``get_model(name, device)``.
"""
