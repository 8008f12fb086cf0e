"""Command-line arguments and helpers shared by the Python tests of the weight tools.

Each test script is run by CTest (tests/tools/CMakeLists.txt) as
  python3 SCRIPT --work-dir=DIR [--emulator=WORD ...] [--program=PATH] [script options]
and runs its unittest cases. A missing Python package makes the script exit with SKIP (77), which
CTest reports as skipped.
"""

import argparse
import os
import subprocess
import sys
import unittest

SKIP = 77
REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(REPOSITORY, "tools")
sys.path.insert(0, TOOLS)


def require_modules(*names):
    """Exit with SKIP, naming the package, when one of the modules cannot be imported."""
    for name in names:
        try:
            __import__(name)
        except ImportError as error:
            print("SKIPPED: %s cannot import %s (%s); on Debian install python3-%s"
                  % (sys.executable, name, error, name))
            sys.exit(SKIP)


def parse_arguments(add_options=None):
    """Parse the arguments CTest passes; the rest go to unittest."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--work-dir", default=None, help="directory for the files the test writes")
    parser.add_argument("--emulator", action="append", default=[], help="one word of the command that runs target programs")
    parser.add_argument("--program", default=None, help="the C++ test program")
    if add_options is not None:
        add_options(parser)
    arguments, rest = parser.parse_known_args()
    if arguments.work_dir is None:
        arguments.work_dir = os.path.join(os.getcwd(), "tools-test-work")
    os.makedirs(arguments.work_dir, exist_ok=True)
    return arguments, [sys.argv[0]] + rest


def run_program(arguments, *program_arguments):
    """Run the C++ test program (through the emulator when cross-compiling) and return its stdout;
    fail with its stderr when it exits with an error."""
    command = list(arguments.emulator) + [arguments.program] + [str(a) for a in program_arguments]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if result.returncode != 0:
        raise AssertionError("%s exited with %d:\n%s" % (" ".join(command), result.returncode, result.stderr))
    return result.stdout


def run_tests(argv):
    """Run the unittest cases of the calling script and exit with their result."""
    program = unittest.main(argv=argv, exit=False, verbosity=2)
    sys.exit(0 if program.result.wasSuccessful() else 1)
