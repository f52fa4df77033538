"""Datasets: GTSRB (classification) and GTSDB (road frames), located, unpacked and cached."""
