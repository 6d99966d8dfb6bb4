"""A section as a file of its own: the code it teaches, with what that code needs, and the call.

`--markdown` prints one python block per section, for a learner to paste into their notes and
run. It must run as pasted, saved as a file in the project folder, and print what the section
printed. So the block is built from the running source, in four parts:

    import importlib                               # 1. the imports the code below uses,
    from functools import partial                  #    as the script itself writes them
    localstack = importlib.import_module("03_localstack")
    _request_ctx_stack = lifecycle._request_ctx_stack   # 2. the script's other names it uses

    class Stack: ...                               # 3. the code the section teaches, verbatim;
    class Flask(lifecycle.Flask):                  #    a method inside a subclass of its class,
        def wsgi_app(self, environ, start_response): ...   # which overrides just that method

    demo_stack()                                   # 4. the lines that call it

A name the code uses is found where the code is defined: an import of that module is copied,
anything else is taken from the script (`name = lifecycle.name`). A class shown here takes the
place of the script's class wherever another class shown here names it by a class attribute
(`request_context_class = RequestContext`); where that other class is the one the lesson makes
its context with (05's create_app(app_class=Flask)) and is not shown, a subclass of it that
only names them is added. So what is shown is what runs.

Nothing here imports a numbered script: it reads the objects it is handed and their modules.
"""

import ast
import builtins
import inspect
import re
import symtable
import sys
import textwrap
import types

NUMBERED = re.compile(r"^\d\d_\w+$|^flask111$")  # the lesson's modules, imported by importlib


def module_name(obj, script):
    """The importable name of the module `obj` was defined in (a script run as __main__ is
    `script`)."""
    name = obj.__module__
    return script if name == "__main__" else name


def alias(name):
    """How the scripts call a lesson module: 05_lifecycle -> lifecycle."""
    return re.sub(r"^\d\d_", "", name)


def source(obj):
    """The running source of a function, class or method, dedented."""
    if isinstance(obj, Assigned):
        return obj.source()
    try:
        text = inspect.getsource(obj)
    except TypeError:  # a class with a __wrapped__ slot (LocalProxy): inspect unwraps it
        text = class_source(obj)
    return textwrap.dedent(text).rstrip()


def class_source(cls):
    """A module-level class's lines, found in its module's source by name."""
    module_source = inspect.getsource(sys.modules[cls.__module__])
    for node in ast.parse(module_source).body:
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return "\n".join(module_source.splitlines()[first - 1 : node.end_lineno])
    raise TypeError(f"no source found for {cls!r}")


def owner_of(obj):
    """The class a method is defined in, or None for a module-level function or class."""
    if isinstance(obj, Assigned):
        return None
    owner = obj.__qualname__.rpartition(".")[0]
    if not owner or "<locals>" in owner:
        return None
    return getattr(sys.modules[obj.__module__], owner)


def used_globals(text):
    """The global names `text` (a module's source) reads: in any function, class or at top
    level, and not assigned there itself."""
    table = symtable.symtable(text, "<section>", "exec")
    assigned = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    used = set()

    def walk(scope):
        for symbol in scope.get_symbols():
            top = scope.get_type() == "module"
            if symbol.is_referenced() and (top or symbol.is_global()):
                used.add(symbol.get_name())
        for child in scope.get_children():
            walk(child)

    walk(table)
    return used - assigned - set(dir(builtins))


def import_lines(module):
    """{name: [the statements that bind it]} for a module's top-level imports (a lesson module
    bound by importlib is found by its value, in resolve)."""
    lines = {}
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.Import):
            for name in node.names:
                bound = name.asname or name.name.split(".")[0]
                as_ = f" as {name.asname}" if name.asname else ""
                lines.setdefault(bound, []).append(f"import {name.name}{as_}")
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for name in node.names:
                as_ = f" as {name.asname}" if name.asname else ""
                statement = f"from {node.module} import {name.name}{as_}"
                lines.setdefault(name.asname or name.name, []).append(statement)
    return lines


class Assigned:
    """Module-level assignments a section teaches (`request = LocalProxy(partial(...))`), by
    the names they bind, in the module named `module` (a script's `__name__`)."""

    def __init__(self, module, *names):
        self.__module__, self.names = module, names
        self.__qualname__ = self.__name__ = ", ".join(names)

    def source(self):
        text = inspect.getsource(sys.modules[self.__module__])
        lines = text.splitlines()
        found = [
            "\n".join(lines[node.lineno - 1 : node.end_lineno])
            for node in ast.parse(text).body
            if isinstance(node, ast.Assign)
            and {t.id for t in node.targets if isinstance(t, ast.Name)} & set(self.names)
        ]
        if not found:
            raise TypeError(f"no assignment of {self.names} in {self.__module__}")
        return "\n".join(found)


class Unit:
    """One piece of the block: a module-level function or class, a few module-level
    assignments, or a subclass holding the methods shown of one class."""

    def __init__(self, objects, script, owner=None):
        self.objects = objects
        self.owner = owner or owner_of(objects[0])
        defined = self.owner or objects[0]
        self.module = module_name(defined, script)
        self.source_module = sys.modules[defined.__module__]  # where its names are found
        self.name = defined.__name__
        self.wiring = []  # class attribute lines: `request_context_class = RequestContext`

    def defines(self):
        first = self.objects[0] if self.objects else None
        return set(first.names) if isinstance(first, Assigned) else {self.name}

    def text(self):
        if self.owner is None:
            return source(self.objects[0])
        body = ["\n".join(f"{name} = {value}" for name, value in self.wiring)] * bool(self.wiring)
        body += [source(method) for method in self.objects]
        inner = textwrap.indent("\n\n".join(body), "    ")
        return f"class {self.name}({alias(self.module)}.{self.name}):\n{inner}"

    def code_texts(self):
        """The sources whose names must be found: the function, class or methods themselves."""
        return [source(obj) for obj in self.objects]


def units_of(objects, script):
    """The units, in order; the methods of one class in one subclass, where the first is."""
    units = []
    for obj in objects:
        owner = owner_of(obj)
        same = [unit for unit in units if owner is not None and unit.owner is owner]
        if same:
            same[0].objects.append(obj)
        else:
            units.append(Unit([obj], script))
    return units


def wire(units):
    """A subclass shown here replaces its class where another class shown here names that
    class in a class attribute (Flask.request_context_class -> the RequestContext shown)."""
    replaced = {}
    for unit in units:
        original = unit.owner or getattr(unit.source_module, unit.name, None)
        if isinstance(original, type):
            replaced[original] = unit.name
    for unit in units:
        if unit.owner is None:
            continue
        for attribute in dir(unit.owner):
            value = getattr(unit.owner, attribute, None)
            if isinstance(value, type) and value in replaced and value is not unit.owner:
                unit.wiring.append((attribute, replaced[value]))


def resolve(units, script):
    """The lines before the code: imports and the script's names the code uses."""
    defined = set().union(*(unit.defines() for unit in units))
    lines, taken = [], set()
    lessons = {}

    def lesson_module(name):
        short = alias(name)
        if short not in lessons:
            lessons[short] = f'{short} = importlib.import_module("{name}")'
        return short

    for unit in units:
        module = unit.source_module
        imports = import_lines(module)
        names = set()
        for text in unit.code_texts():
            names |= used_globals(text)
        if unit.owner is not None:
            lesson_module(unit.module)
        for name in sorted(names - defined - taken):
            if name not in vars(module):
                continue
            value = vars(module)[name]
            taken.add(name)
            if isinstance(value, types.ModuleType) and NUMBERED.match(value.__name__):
                lessons.setdefault(name, f'{name} = importlib.import_module("{value.__name__}")')
            elif name in imports:
                lines += imports[name]
            else:
                lines.append(f"{name} = {lesson_module(unit.module)}.{name}")
    if lessons:
        lines.append("import importlib")
    imports_first = sorted(
        {line for line in lines if line.startswith(("import ", "from "))},
        key=lambda line: (line.startswith("from "), line),
    )
    assigned = [line for line in lines if not line.startswith(("import ", "from "))]
    return imports_first, list(lessons.values()), assigned


def wired_last(units):
    """The units, each after those its class attributes name (stable otherwise)."""
    ordered = []
    for unit in units:
        position = len(ordered)
        for index, earlier in enumerate(ordered):
            if any(value == unit.name for _, value in earlier.wiring):
                position = min(position, index)
        ordered.insert(position, unit)
    return ordered


def block(bug, code, script, call, hosts=()):
    """The whole python block: imports, the script's names, the code (the notes' version
    first, if any), and the lines that run it: `call(names)`, given the names of `hosts` the
    block subclasses. A host (the app class the lesson's context is made with) is subclassed
    when the code shows a method of it, or a class it names in a class attribute: then the
    subclass names the one shown (`request_context_class = RequestContext`)."""
    bug_units, code_units = units_of(bug, script), units_of(code, script)
    owners = {unit.owner for unit in bug_units + code_units}
    added = [Unit([], script, owner=host) for host in hosts if host not in owners]
    wire(bug_units + code_units + added)
    bug_units, code_units = wired_last(bug_units), wired_last(code_units)
    for host in (unit for unit in added if unit.wiring):  # right after the classes it names
        names = {value for _, value in host.wiring}
        last = max(i for i, unit in enumerate(code_units) if unit.name in names)
        code_units.insert(last + 1, host)
    call = call([unit.name for unit in code_units if unit.owner in hosts])
    imports, lessons, assigned = resolve(bug_units + code_units, script)
    bug_texts = [unit.text() for unit in bug_units]
    code_texts = [unit.text() for unit in code_units]
    if bug_texts:
        bug_texts[0] = "# The notes' version, as written:\n" + bug_texts[0]
        code_texts[0] = "# The fix:\n" + code_texts[0]
    shown = bug_texts + code_texts
    if bases(bug_units) & {unit.name for unit in code_units}:  # the notes' subclass the fix:
        shown = code_texts[:-1] + bug_texts + code_texts[-1:]  # it first, the demo still last
    head = "\n".join(imports + [""] * bool(imports) + lessons + assigned).strip("\n")
    return "\n\n\n".join(part for part in [head, *shown, call.strip("\n")] if part)


def bases(units):
    """The names the classes of `units` derive from."""
    names = set()
    for unit in units:
        for node in ast.walk(ast.parse(unit.text())):
            if isinstance(node, ast.ClassDef):
                names |= {base.id for base in node.bases if isinstance(base, ast.Name)}
    return names
