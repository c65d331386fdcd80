"""Unit tests of __main__.py, the helper run as a directory: python3 -m unittest discover -s lib/remote/helper
-p '*_test.py'."""

import glob
import os
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from testing import temp_dir  # noqa: E402


class MainTest(unittest.TestCase):
    def run_helper(self, directory, *args):
        env = dict(os.environ, SESSH_SESSION="", PYTHONDONTWRITEBYTECODE="1")
        return subprocess.run([sys.executable, "-S", directory] + list(args), env=env, capture_output=True,
                              text=True, timeout=30)

    def test_without_a_role_it_prints_its_usage_and_exits_2(self):
        done = self.run_helper(HERE)
        self.assertEqual((done.returncode, done.stderr), (2, "usage: sessh list | sessh detach (inside a sessh session)\n"))

    def test_a_role_loads_its_modules_and_caches_their_bytecode_even_where_the_host_says_not_to(self):
        copy = os.path.join(temp_dir(self), "helper-0123456789abcdef")
        os.mkdir(copy)
        for path in glob.glob(os.path.join(HERE, "*.py")):
            if not path.endswith("_test.py"):
                shutil.copy(path, copy)
        done = self.run_helper(copy, "detach")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("not inside a sessh session", done.stderr)
        compiled = os.listdir(os.path.join(copy, "__pycache__"))
        self.assertTrue(any(name.startswith("bridge.") for name in compiled), compiled)
        self.assertFalse(any(name.startswith("daemon.") for name in compiled), "a bridge imports no daemon")


if __name__ == "__main__":
    unittest.main()
