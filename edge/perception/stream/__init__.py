"""The camera as a stream: opened and retried with back-off, read one frame ahead with its
detections on a thread of its own."""
