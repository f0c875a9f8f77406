"""`python -m level3_system`: run a command, then leave without the interpreter's teardown.

Freeing the ~3,000 modules a training imports (GX, MLflow, Prefect, Kedro, skops, ONNX) takes Python ~2 s here
after the last line is printed, which `make level3` and every test that starts a command would wait for. So once
`main` has returned, and after every exit handler has run (they are registered after this one, so they run
before it: Prefect's and logging's flushes, the temporary server's stop), the process ends with `os._exit`. A
command that raised is left to Python's usual exit, traceback and all.
"""

import atexit
import os
import sys

_returned: list[int] = []


def _skip_teardown() -> None:
    if _returned:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_returned[0])


atexit.register(_skip_teardown)  # first registered, so the last to run

from level3_system.cli import main  # noqa: E402  - after the handler: every later handler runs before it

_returned.append(main())
sys.exit(_returned[0])
