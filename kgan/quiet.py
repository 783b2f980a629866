"""Start TensorFlow without its start-up noise on the terminal.

Importing TensorFlow 2.21 prints absl lines before logging is configured ("All log messages before
absl::InitializeLog()...", oneDNN and cudart notices) and, on a machine without a GPU, an error line
from the first cuInit; TF_CPP_MIN_LOG_LEVEL does not reach the first kind. The CLI imports TensorFlow
and initializes its devices once with file descriptor 2 redirected, then replays whatever was written
except those known notices, so real errors still show.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

NOISE = re.compile(rb"All log messages before absl::InitializeLog|oneDNN custom operations are on|"
                   rb"cudart_stub\.cc.*Could not find cuda drivers|failed call to cuInit|cpu_feature_guard\.cc|"
                   rb"^To enable the following instructions|rebuild TensorFlow with the appropriate compiler flags")


def import_tensorflow():
    """`import tensorflow` (and list its devices) with the start-up notices filtered out of stderr."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # device initialization happens here, under the redirect
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured:
                if not NOISE.search(line):
                    sys.stderr.buffer.write(line)
            sys.stderr.flush()
    return tf
