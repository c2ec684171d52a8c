"""TensorFlow, loaded once and quietly: every module of the library imports it from here.

TensorFlow's C++ core prints start-up lines on stderr as it loads (oneDNN is on, no CUDA driver
found, absl's "before InitializeLog" notice) whatever `TF_CPP_MIN_LOG_LEVEL` says, because they
come before its logging is set up. A command-line tool whose stderr is for the person using it,
and a server whose log is for its operator, should not show them. So the import runs with the
process's stderr (file descriptor 2) captured, and what was captured is written back except the
lines known to be start-up notices; an error while loading is shown whole.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading

# The start-up notices: absl's, and glog-style lines of the files that print them at load time.
_STARTUP = re.compile(
    r"All log messages before absl::InitializeLog|"
    r"^[IWE]\d{4} [\d:.]+ +\d+ (port|cudart_stub|cuda_platform|cuda_dnn|cuda_fft|cuda_blas|"
    r"computation_placer|cpu_feature_guard)\.cc:\d+\]"
)
_lock = threading.Lock()


def _load_quietly():
    """`import tensorflow`, with its start-up lines kept off stderr."""
    with _lock:
        if "tensorflow" in sys.modules:
            return sys.modules["tensorflow"]
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            try:
                import tensorflow

                tensorflow.config.list_physical_devices("GPU")  # its CUDA probe prints too
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                captured.seek(0)
                lines = captured.read().decode(errors="replace").splitlines()
                kept = [line for line in lines if not _STARTUP.search(line)]
                if kept:
                    sys.stderr.write("\n".join(kept) + "\n")
                    sys.stderr.flush()
        return tensorflow


tf = _load_quietly()
