"""Training layer (torch): data, models, regimes, saliency, export, the classifier and detector
builds. Imports `edgexai.core` and itself only; the vehicle never imports it."""
