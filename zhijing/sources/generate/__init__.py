"""sources/generate."""
