"""Explanation metrics in numpy (+ scipy for imputation), shared by the training and vehicle sides.

Sparsity (Gini), faithfulness (ROAD MoRF/LeRF with noisy linear imputation; deletion/insertion
with cheap fills). No torch at import: the deployment side logs Gini and a deletion probe.
"""
