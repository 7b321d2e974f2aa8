"""One ``ast.parse`` at a time, on the CPython versions where two threads can corrupt each other's.

CPython 3.11 before 3.11.8 (and 3.12 before 3.12.2) keeps the depth counter of the AST-to-Python
conversion in the ``_ast`` module's shared state instead of per call (CPython issue gh-106905).
The conversion allocates objects; a garbage collection can run Python code there (a finalizer, a
weakref callback) and the interpreter may switch threads; if the other thread parses too, the
counter is off when the first resumes and ``ast.parse`` raises ``SystemError: AST constructor
recursion depth mismatch``. Our tests do exactly that: an app thread (uvicorn's, or the loop of an
in-process app) logs a 500's traceback, which since 3.11 calls ``ast.parse`` to place its ``^^^``
markers, while pytest's main thread parses to rewrite assertions or report a failure; the
``SystemError`` then aborts the run with an INTERNALERROR. The tests used to sleep before
asserting on a 5xx to let the app finish logging.

Every caller that matters (``traceback``, pytest's rewriting and reporting) goes through the
``ast.parse`` function, so a lock around it is enough; it is reentrant because a finalizer may
parse on the thread that holds it. Fixed upstream by gh-113035 (3.11.8, 3.12.2, 3.13).
"""

from __future__ import annotations

import ast
import functools
import sys
import threading
from typing import Any

#: The first releases whose ``ast`` keeps its depth counter per call.
FIXED_IN = {(3, 11): (3, 11, 8), (3, 12): (3, 12, 2)}


def needed(version: tuple[int, int, int] = sys.version_info[:3]) -> bool:
    fixed = FIXED_IN.get(version[:2])
    return fixed is not None and version < fixed


def install() -> None:
    """Serialize ``ast.parse`` across threads (once; a no-op where CPython is fixed)."""
    if not needed() or getattr(ast.parse, "serialized", False):
        return
    lock = threading.RLock()
    parse = ast.parse

    @functools.wraps(parse)
    def serialized_parse(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return parse(*args, **kwargs)

    serialized_parse.serialized = True  # type: ignore[attr-defined]
    ast.parse = serialized_parse
