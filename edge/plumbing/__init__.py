"""Plumbing the edge and the dashboard both use: MQTT TLS set-up, sd_notify, config errors,
throttled log lines.

The dashboard may import only ``edge.contract`` and this package, so what both processes need
lives here once. It imports nothing else of greetcue and nothing of either side's libraries
(FastAPI, SQLAlchemy, OpenCV, ONNX Runtime): only paho-mqtt, sdnotify and pydantic.
"""
