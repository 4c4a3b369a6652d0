"""Flasky."""
