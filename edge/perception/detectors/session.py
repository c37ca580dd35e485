"""ONNX Runtime sessions tuned for a small CPU box: few threads, no busy-waiting.

Spinning threads burn the cores the rest of the pipeline (decoding video, tracking, MQTT)
needs, so intra-op spinning is off unless asked for; everything runs sequentially on the CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnxruntime as ort

from edge.perception.detectors.modelstore import ModelSpec, TensorSpec


class ModelLoadError(RuntimeError):
    """ONNX Runtime cannot load the weights file."""


class ModelMismatchError(ValueError):
    """The weights' input or output tensors differ from what the manifest says."""


def open_session(path: Path, threads: int = 1, spin: bool = False) -> Any:
    """An ``onnxruntime.InferenceSession`` on the CPU with ``threads`` intra-op threads."""
    if threads < 1:
        raise ValueError(f"threads must be 1 or more, got {threads}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # ONNX Runtime's errors derive from Exception only
        raise ModelLoadError(
            f"ONNX Runtime cannot load {path}: {exc}; re-pull it with `greetcue models pull`"
        ) from None


def _describe(tensors: list[Any]) -> str:
    return ", ".join(f"{t.name!r} {list(t.shape)}" for t in tensors) or "none"


def check_io(session: Any, spec: ModelSpec, path: Path) -> None:
    """Fail unless the session has exactly the manifest's one input and one output."""
    for kind, actual, expected in (
        ("input", session.get_inputs(), spec.input),
        ("output", session.get_outputs(), spec.output),
    ):
        if not _matches(actual, expected):
            raise ModelMismatchError(
                f"{path} has {kind} {_describe(actual)}, but the manifest entry {spec.name!r} "
                f"expects {expected.name!r} {list(expected.shape)}; the file is not that model "
                f"(re-pull it with `greetcue models pull {spec.name}`) or the manifest is wrong"
            )


def _matches(actual: list[Any], expected: TensorSpec) -> bool:
    return (
        len(actual) == 1
        and actual[0].name == expected.name
        and tuple(actual[0].shape) == expected.shape
    )
