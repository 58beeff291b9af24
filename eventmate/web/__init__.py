"""Blueprints: thin views that parse input, call services, and render."""
