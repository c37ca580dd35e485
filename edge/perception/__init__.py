"""Perception, in data order: sources -> detectors -> tracker -> ranging (camera geometry).

``edge.perception.pipeline.Perception`` wires one frame through all of them.
"""
