"""`edgexai bench`: the regime matrix side by side — accuracy, robustness, explanation quality,
size and latency — in one report (Markdown, self-contained HTML, PNGs, JSON, CSV)."""
