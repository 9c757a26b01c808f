"""Let mutmut 3 mutate the bodies of decorated functions, in the driver's scratch copy only.

mutmut 3 leaves every decorated function alone (but ``@staticmethod``/``@classmethod``), so the
bodies of the aggregates' ``@event(...)`` commands and ``@property`` readers, where much of a
domain module's state change lives, would not be measured. The driver therefore rewrites the
scratch copy of such a module before mutmut reads it: ::

    @event("Changed")                     def change(self, areas):
    def change(self, areas):       ->         self.areas = areas
        self.areas = areas                change = event("Changed")(change)

Python's decorator syntax means exactly that assignment (the decorators applied innermost
first, in the same scope, once), so the module behaves as before. mutmut then sees a plain
function, wraps it in its trampoline (``functools.wraps``, so ``inspect.signature`` still finds
the original parameters, from which eventsourcing builds the event class) and the decorator is
applied to the trampoline, as mutmut itself does for ``@staticmethod``.

Left as they are: ``@staticmethod``/``@classmethod`` alone (mutmut handles those), functions
nested in other functions or classes (mutmut mutates top-level functions and the methods of
top-level classes only), and a function whose decorators name the function itself (a property's
``@name.setter``: the assignment would read the rebound name).
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

MUTMUT_HANDLES = frozenset({"staticmethod", "classmethod"})


def unwrap_source(source: str) -> str:
    """The module's source with every decorated top-level function and top-level method written
    as a plain ``def`` followed by the assignment its decorators stand for."""
    module = cst.parse_module(source)
    body = [_unwrap_class(stmt, module) if isinstance(stmt, cst.ClassDef) else stmt for stmt in module.body]
    return module.with_changes(body=_unwrap_statements(body, module)).code


def _unwrap_class(cls: cst.ClassDef, module: cst.Module) -> cst.ClassDef:
    if not isinstance(cls.body, cst.IndentedBlock):
        return cls
    return cls.with_changes(body=cls.body.with_changes(body=_unwrap_statements(cls.body.body, module)))


def _unwrap_statements(statements: Sequence[cst.BaseStatement], module: cst.Module) -> list[cst.BaseStatement]:
    result: list[cst.BaseStatement] = []
    for stmt in statements:
        if isinstance(stmt, cst.FunctionDef) and _rewritable(stmt):
            result.extend(_unwrap_function(stmt, module))
        else:
            result.append(stmt)
    return result


def _rewritable(func: cst.FunctionDef) -> bool:
    if not func.decorators:
        return False
    if len(func.decorators) == 1:
        only = func.decorators[0].decorator
        if isinstance(only, cst.Name) and only.value in MUTMUT_HANDLES:
            return False
    name = func.name.value
    for decorator in func.decorators:
        if any(isinstance(node, cst.Name) and node.value == name for node in _walk(decorator.decorator)):
            return False
    return True


def _unwrap_function(func: cst.FunctionDef, module: cst.Module) -> tuple[cst.FunctionDef, cst.SimpleStatementLine]:
    name = func.name.value
    applied = name
    for decorator in reversed(func.decorators):  # the innermost (last written) is applied first
        applied = f"{module.code_for_node(decorator.decorator)}({applied})"
    # Comments and blank lines written above the first decorator stay above the ``def``.
    leading = [*func.decorators[0].leading_lines, *func.leading_lines]
    plain = func.with_changes(decorators=(), leading_lines=leading)
    assignment = cst.parse_statement(f"{name} = {applied}\n", config=module.config_for_parsing)
    assert isinstance(assignment, cst.SimpleStatementLine)
    return plain, assignment


def _walk(node: cst.CSTNode) -> list[cst.CSTNode]:
    found = [node]
    for child in node.children:
        found.extend(_walk(child))
    return found
