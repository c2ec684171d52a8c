"""Neural style transfer: a fast feed-forward path (Magenta) and a slow optimization path (Gatys).

The package is a library with no user-interface code; the page (`web/`) and `python -m nst` are
thin layers over it. Images inside the library are float32 arrays of shape (height, width, 3),
RGB, with values in [0, 1].
"""

import os

__version__ = "0.2.0"

# TensorFlow reads these when it loads, so they are set here, before any module of the library
# imports it (`nst.runtime`); an explicit setting wins. oneDNN: TensorFlow runs its CPU kernels
# through it by default only on CPUs with AVX-512 VNNI, BF16 or AMX; elsewhere (AVX2 CPUs, such
# as many cloud machines) it uses Eigen's, with which one evaluation of the slow path takes about
# twice as long (docs/measurements.md, "Convolution formulation"); `nst.device.formulation`
# follows what TensorFlow does either way. The log level: TensorFlow's own C++ messages are not
# ours to show (`nst.runtime` also keeps its start-up lines off stderr).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
