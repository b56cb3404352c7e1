"""sources/connectors."""
