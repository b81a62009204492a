"""Every process of the gateway's `mlflow server` child dies with its parent.

The gateway starts `mlflow server` in its own process group (so that stopping it reaches
uvicorn's workers). If the gateway itself is killed with SIGKILL (the out-of-memory killer,
the platform), nothing would stop that group: the server would keep its port, and a
restarted gateway could not start its own. Node cannot ask the kernel to signal its
children when it dies, but a child can ask for itself: Linux's PR_SET_PDEATHSIG (prctl(2))
sends the child a signal when the thread that created it exits.

sitecustomize imports this module in every Python process started with the child's
PYTHONPATH; only the server's own chain asks: `mlflow server`, the uvicorn it runs and
uvicorn's workers. Each asks for SIGTERM when its own parent dies, so the death of the
gateway runs down the chain: gateway -> mlflow server -> uvicorn -> workers. SIGTERM (not
SIGKILL) lets uvicorn close cleanly; with the gateway gone, no connection holds it open.
Other processes (MLflow's job runner and jobs) are left alone: the signal comes when the
*thread* that started a process ends, which for a job started from a short-lived thread
would be long before its parent dies, and MLflow's job runner already watches the server.
"""

import os
import signal
import sys

# prctl(2): PR_SET_PDEATHSIG is option 1 on every Linux architecture.
_PR_SET_PDEATHSIG = 1


def _in_server_chain(argv):
    if "server" in argv and any(os.path.basename(arg) == "mlflow" for arg in argv):
        return True  # mlflow server
    if "-m" in argv and "uvicorn" in argv:
        return True  # the uvicorn that mlflow server runs (python -m uvicorn ...)
    return "--multiprocessing-fork" in argv  # uvicorn's workers (multiprocessing spawn)


def die_with_parent():
    if not sys.platform.startswith("linux") or not _in_server_chain(getattr(sys, "orig_argv", sys.argv)):
        return
    # The parent may be PID 1 legitimately: the gateway is PID 1 in a container.
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):
        return
    # The parent may have died between getppid() and prctl(): then no signal will ever come.
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


die_with_parent()
