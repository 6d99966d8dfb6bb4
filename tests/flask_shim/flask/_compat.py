from io import StringIO  # noqa: F401

text_type, string_types, integer_types, PY2 = str, (str,), (int,), False


def iteritems(d):
    return iter(d.items())
