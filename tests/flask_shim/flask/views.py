import importlib

_flask111 = importlib.import_module("flask111")  # 回顾 8's CBV
View, MethodView = _flask111.View, _flask111.MethodView
