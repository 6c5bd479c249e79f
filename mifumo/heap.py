"""What a long-lived server process does with the objects it made while starting.

A worker (Celery's or gunicorn's) imports Django, the apps, DRF and their schemas before its
first task or request: hundreds of thousands of objects that live as long as the process. The
cyclic garbage collector walks all of them on every full collection (about 200 ms each in a
send worker, seconds over a campaign). Freezing them once started takes them out of its walks;
what a task or a request makes afterwards is collected as before.
"""

import gc


def freeze_startup_objects() -> None:
    """Collect what start-up left over, then exempt everything still alive from later
    collections (`gc.freeze`). Call once, in the process that serves, after it has loaded."""
    gc.collect()
    gc.freeze()
