"""Model registry: ResNets sized for 32–64 px signs and the paper's VGG-16, each naming its input,
normalisation and CAM layer (None where the head has no exact in-graph CAM)."""

from edgexai.train.models.arch_registry import (
    ModelSpec,
    cam_models,
    create_model,
    get_spec,
    list_models,
)

__all__ = ["ModelSpec", "cam_models", "create_model", "get_spec", "list_models"]
