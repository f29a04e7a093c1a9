"""The Python side of the test harness: the same ok/FAIL/skip lines as tests/rf_test.h."""
import os
import sys
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("RF_BUILD", "build"))
_failed = False


class Skip(Exception):
    pass


def shared_dir():
    """../shared beside the repository (real models, llama.cpp references), or None."""
    env = os.environ.get("RF_SHARED")
    for d in ([env] if env else []) + [os.path.join(ROOT, "..", "shared")]:
        if d and os.path.exists(os.path.join(d, "models", "stories260K.gguf")):
            return d
    return None


def need_gguf():
    """Import gguf-py and numpy, or skip the test with the reason."""
    try:
        import gguf  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        raise Skip("%s (pip install gguf numpy)" % e)


def run(fn):
    global _failed
    name = fn.__name__
    try:
        fn()
        print("ok %s" % name)
    except Skip as e:
        print("skip %s: %s" % (name, e))
    except Exception:  # a failed assert or an error: both fail the test
        _failed = True
        print("  " + traceback.format_exc().strip().replace("\n", "\n  "))
        print("FAIL %s" % name)
    sys.stdout.flush()


def exit_code():
    return 1 if _failed else 0
