"""Neural style transfer: a fast feed-forward path (Magenta) and a slow optimization path (Gatys).

The package is a library with no user-interface code; `app.py` and `python -m nst` are thin
layers over it. Images inside the library are float32 arrays of shape (height, width, 3), RGB,
with values in [0, 1].
"""

import os

__version__ = "0.1.0"

# TensorFlow runs its CPU kernels through oneDNN by default only on CPUs with AVX-512 VNNI, BF16
# or AMX; elsewhere (AVX2 CPUs, such as many cloud machines) it uses Eigen's, with which one
# evaluation of the slow path takes twice as long (README, "Measured"). TensorFlow reads this at
# import, so it is set here, before any module of the library imports it; an explicit setting
# wins, and `nst.device.formulation` follows what TensorFlow does either way.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
