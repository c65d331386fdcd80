"""Unit tests of fields.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from errors import HelperError  # noqa: E402
from fields import checked_name, clamp  # noqa: E402


class FieldsTest(unittest.TestCase):
    def test_a_session_name_is_1_to_64_safe_characters(self):
        self.assertEqual(checked_name({"name": "web-1.a_b"}), "web-1.a_b")
        for bad in ["", "a/b", "../x", "a b", "x" * 65, "a\n", None, 7]:
            with self.assertRaises(HelperError) as caught:
                checked_name({"name": bad})
            self.assertEqual(caught.exception.args[0], "bad_request")

    def test_clamp_bounds_integers_and_defaults_anything_else(self):
        self.assertEqual(clamp(5, 1, 10, 3), 5)
        self.assertEqual(clamp(50, 1, 10, 3), 10)
        self.assertEqual(clamp(-5, 1, 10, 3), 1)
        for other in [None, "5", 5.0, True]:
            self.assertEqual(clamp(other, 1, 10, 3), 3)


if __name__ == "__main__":
    unittest.main()
