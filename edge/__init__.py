"""greetcue edge process: camera -> detector -> tracker -> ranging -> zones -> events."""
