"""The checks of the CLI tests' Python parts: each check prints ok or FAIL with what it
checked, and finish() makes the script fail when any of them failed."""
import sys

failed = []


def check(ok, what):
    """Prints the outcome of one check; a failure is remembered for finish()."""
    print("  %s: %s" % ("ok  " if ok else "FAIL", what))
    if not ok:
        failed.append(what)


def finish(what="checks"):
    """Exits with a message ("3 checks failed") when any check failed."""
    if failed:
        sys.exit("%d %s failed" % (len(failed), what))
