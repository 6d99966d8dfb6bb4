class ScriptInfo:
    """The `flask` command is left out; test_testing imports this name."""
