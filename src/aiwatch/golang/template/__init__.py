"""Go ``text/template`` for aiwatch: parse once, execute with a function table.

The public face of ``template_parse`` (lexing and parsing) and ``template_exec`` (running);
alert templates (``templates``) and notification messages both use it.
"""

from aiwatch.golang.template.exec import execute, truth
from aiwatch.golang.template.parse import FuncMap, GoStruct, Node, TemplateError, parse

__all__ = ["FuncMap", "GoStruct", "Node", "TemplateError", "execute", "parse", "truth"]
