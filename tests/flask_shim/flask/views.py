import importlib

_basics = importlib.import_module("07_flask_basics")  # 回顾 8's CBV
View, MethodView = _basics.View, _basics.MethodView
