"""Go ``text/template`` for aiwatch: parse once, execute with a function table.

The public face of ``parse`` (lexing and parsing) and ``exec`` (running); ``funcs`` holds Go's
builtins and Prometheus' template functions. Alert templates (``rules.templates``) and
notification messages (``notify.messages``) both use it.
"""

from aiwatch.golang.template.exec import execute, truth
from aiwatch.golang.template.parse import FuncMap, GoStruct, Node, TemplateError, parse

__all__ = ["FuncMap", "GoStruct", "Node", "TemplateError", "execute", "parse", "truth"]
