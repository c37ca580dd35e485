"""A bare ONNX Runtime loop: the least a process needs to run the detector on a clip at a fixed
rate. ``greetcue bench memory`` runs it beside ``greetcue run`` to compare their memory.

It imports NumPy, OpenCV and ONNX Runtime and nothing of greetcue: decode a frame, resize it
into the model's input (NCHW float32), run the session as the detector opens it (CPU, the given
intra-op threads, sequential, no spinning), wait for the next tick.

    python -m edge.tools.bench.bare_loop MODEL.onnx CLIP FPS THREADS
"""

from __future__ import annotations

import sys
import time

import cv2
import numpy as np
import onnxruntime as ort


def run(model: str, clip: str, fps: float, threads: int) -> int:
    """Frames processed: every frame of ``clip``, paced at ``fps``."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
    tensor = session.get_inputs()[0]
    _, _, height, width = tensor.shape
    capture = cv2.VideoCapture(clip)
    frames, start = 0, time.monotonic()
    while True:
        ok, image = capture.read()
        if not ok:
            return frames
        resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
        session.run(None, {tensor.name: resized.transpose(2, 0, 1)[None].astype(np.float32)})
        frames += 1
        time.sleep(max(0.0, start + frames / fps - time.monotonic()))


if __name__ == "__main__":
    print(run(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
