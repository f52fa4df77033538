"""Saliency maps (VG, IG, SmoothGrad, Grad-CAM) and the analytic CAM head exported in-graph."""
