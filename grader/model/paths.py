"""A place in a returned value, as a reader names it: `[0]["W1"]`, or with the manifest's names `W1`,
`costs[3]`. Shared by the judge (an advice's `{names}`) and grader.render."""

from __future__ import annotations


def _step(step: int | str) -> str:
    return f"[{step}]" if isinstance(step, int) else f'["{step}"]'


def display_path(path: tuple[str | int, ...], names: tuple[str, ...] = (), inputs: bool = False) -> str:
    """A path as a reader names it: `[0]["W1"]`, or with the manifest's names `W1`, `costs[3]`.

    A named part stands for the returned tuple's item; a dict key right after a named part is shown
    alone (a dict of named arrays reads best by the arrays' names). An argument's name leads an
    input's path.
    """
    if not path:
        return "the returned value"
    head, rest = path[0], path[1:]
    if inputs:
        return str(head) + "".join(_step(s) for s in rest)
    if isinstance(head, int) and head < len(names):
        if rest and isinstance(rest[0], str):
            return rest[0] + "".join(_step(s) for s in rest[1:])
        return names[head] + "".join(_step(s) for s in rest)
    return "".join(_step(s) for s in path)
