"""Benchmarks (``greetcue bench ...``): detector, service, memory; and the private PostgreSQL
the dashboard bench runs against."""
