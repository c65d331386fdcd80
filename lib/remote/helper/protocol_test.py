"""Unit tests of protocol.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import ast
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import protocol  # noqa: E402


class ProtocolTest(unittest.TestCase):
    def test_is_a_flat_list_of_assignments_a_generator_can_write(self):
        with open(os.path.join(HERE, "protocol.py")) as f:
            tree = ast.parse(f.read())
        for node in tree.body[1:]:  # after the docstring
            self.assertIsInstance(node, ast.Assign, ast.dump(node)[:80])
            self.assertEqual(len(node.targets), 1)
            self.assertIsInstance(node.targets[0], ast.Name, "one NAME per line")
            names = [n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)]
            self.assertEqual(names, [], "%s refers to %s: a value, not an expression" % (node.targets[0].id, names))

    def test_the_magic_line_and_the_file_names_carry_the_protocol_version(self):
        self.assertEqual(protocol.MAGIC, b"SESSH-HELPER %d\n" % protocol.PROTOCOL)
        self.assertEqual(protocol.SOCKET_NAME, "daemon-%d.sock" % protocol.PROTOCOL)
        self.assertEqual(protocol.REGISTRY_NAME, "sessions-%d.json" % protocol.PROTOCOL)

    def test_error_codes_are_distinct_and_named_after_their_value(self):
        codes = {k: v for k, v in vars(protocol).items() if k.startswith("ERR_")}
        self.assertEqual(len(set(codes.values())), len(codes))
        for name, code in codes.items():
            self.assertEqual(name, "ERR_" + code.upper())


if __name__ == "__main__":
    unittest.main()
