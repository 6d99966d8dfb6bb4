"""The tools for watching and serving the lessons, kept beside the numbered scripts.

They are handed what they work on (the app, the step table, the stacks, the proxies, the
signals) and never import a numbered script.
"""
