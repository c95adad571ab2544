"""Prompt building from the Jinja2 templates in ``templates/``."""
