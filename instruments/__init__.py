"""The tools for watching and serving the lessons, kept beside the numbered scripts.

They are handed the app (or the module) they work on and never import a numbered script.
"""
