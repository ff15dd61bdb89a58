"""The import graph: no cycle anywhere, and the daemon's start-up order kept by any feature list."""

import grimp
import pytest

from aiwatch.app.build import COMPONENTS, STARTS_BEFORE, check_order


def _cycle(graph: grimp.ImportGraph) -> list[str] | None:
    """One import cycle of ``graph`` (a list of modules), or None when it has none."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if state.get(imported) == 1:
                return [*path[path.index(imported) :], imported]
            if imported not in state:
                found = visit(imported)
                if found:
                    return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph.modules):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


def test_no_module_import_cycle_counting_every_import() -> None:
    """No cycle among aiwatch's modules, counting imports inside functions and type checks."""
    graph = grimp.build_graph("aiwatch", include_external_packages=False)
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a two-module loop is reported."""
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    assert _cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]


def test_the_daemon_order_keeps_every_constraint() -> None:
    """``aiwatch run`` starts its features in an order ``STARTS_BEFORE`` allows."""
    check_order(COMPONENTS)
    assert len(STARTS_BEFORE) >= 1


def test_a_feature_list_out_of_order_is_refused() -> None:
    """Rules before the incident store they need open is an error naming both and why."""
    first, then, why = STARTS_BEFORE[1]
    with pytest.raises(ValueError, match=why[:20]) as caught:
        check_order((then, first))
    assert first.__module__ in str(caught.value)
    assert then.__module__ in str(caught.value)
