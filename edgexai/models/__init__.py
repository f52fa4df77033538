"""Model registry: ResNets sized for 32–64 px signs, each naming its input, normalisation and CAM layer."""

from edgexai.models.registry import ModelSpec, create_model, get_spec, list_models

__all__ = ["ModelSpec", "create_model", "get_spec", "list_models"]
