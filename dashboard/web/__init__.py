"""The web side: app, guards, pages, JSON API, staff page, metrics."""
