"""Neural style transfer: a fast feed-forward path (Magenta) and a slow optimization path (Gatys).

The package is a library with no user-interface code; `app.py` and `python -m nst` are thin
layers over it. Images inside the library are float32 arrays of shape (height, width, 3), RGB,
with values in [0, 1].
"""

__version__ = "0.1.0"
