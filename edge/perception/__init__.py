"""Perception, in data order: sources -> stream -> detectors -> tracking -> geometry (distance).

``edge.perception.pipeline.Perception`` wires one frame through all of them.
"""
