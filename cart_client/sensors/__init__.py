"""Sensor readings and their sources: the JSON Lines trace format and the feeds that read it."""
