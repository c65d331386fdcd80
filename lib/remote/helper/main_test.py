"""Unit tests of __main__.py, the helper run as a directory: python3 -m unittest discover -s lib/remote/helper
-p '*_test.py'."""

import glob
import os
import runpy
import shutil
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from testing import temp_dir  # noqa: E402


def helper_copy(test):
    """The helper's modules, without their tests, in a directory of its own as the loader unpacks them."""
    copy = os.path.join(temp_dir(test), "helper-0123456789abcdef")
    os.mkdir(copy)
    for path in glob.glob(os.path.join(HERE, "*.py")):
        if not path.endswith("_test.py"):
            shutil.copy(path, copy)
    return copy


class MainTest(unittest.TestCase):
    def run_helper(self, directory, *args):
        env = dict(os.environ, SESSH_SESSION="", PYTHONDONTWRITEBYTECODE="1")
        return subprocess.run([sys.executable, "-S", directory] + list(args), env=env, capture_output=True,
                              text=True, timeout=30)

    def test_without_a_role_it_prints_its_usage_and_exits_2(self):
        done = self.run_helper(HERE)
        self.assertEqual((done.returncode, done.stderr), (2, "usage: sessh list | sessh detach (inside a sessh session)\n"))

    def test_a_role_loads_its_modules_and_caches_their_bytecode_even_where_the_host_says_not_to(self):
        copy = helper_copy(self)
        done = self.run_helper(copy, "detach")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("not inside a sessh session", done.stderr)
        compiled = os.listdir(os.path.join(copy, "__pycache__"))
        self.assertTrue(any(name.startswith("bridge.") for name in compiled), compiled)
        self.assertFalse(any(name.startswith("daemon.") for name in compiled), "a bridge imports no daemon")

    def test_a_bridge_of_a_helper_never_run_has_the_daemons_modules_compiled_by_a_process_of_its_own(self):
        # The bridge's role without its bridge: what main() does up to bridge(), then what this process imported.
        copy = helper_copy(self)
        script = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); "
                  "helper = runpy.run_path(sys.argv[1] + '/__main__.py', run_name='helper'); "
                  "first = helper['never_run'](sys.argv[1]); import bridge; helper['compile_daemon_beside']() if first else 0; "
                  "print(first, 'daemon' in sys.modules)")
        done = subprocess.run([sys.executable, "-S", "-c", script, copy], capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        self.assertEqual((done.returncode, done.stdout, done.stderr), (0, "True False\n", ""))
        cache, compiled, deadline = os.path.join(copy, "__pycache__"), set(), time.time() + 20
        while not {"daemon", "terminal"} <= compiled and time.time() < deadline:
            time.sleep(0.05)
            compiled = {name.partition(".")[0] for name in os.listdir(cache)}
        self.assertLessEqual({"daemon", "terminal", "bridge"}, compiled)

    def test_a_helper_that_ran_before_is_not_run_for_the_first_time(self):
        copy = helper_copy(self)
        self.addCleanup(setattr, sys, "dont_write_bytecode", sys.dont_write_bytecode)
        helper = runpy.run_path(os.path.join(copy, "__main__.py"), run_name="helper")
        self.assertTrue(helper["never_run"](copy))
        os.mkdir(os.path.join(copy, "__pycache__"))
        self.assertFalse(helper["never_run"](copy))

if __name__ == "__main__":
    unittest.main()
