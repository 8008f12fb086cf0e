"""The Python shape signature of tools/microfit_weights.py equals Sequential::shape_signature.

The C++ program prints the signature of several models with their descriptions; every line must
match what the Python implementation computes from the description.
"""

import unittest

import tools_test_support as support

support.require_modules("numpy")
import microfit_weights as mw  # noqa: E402

ARGUMENTS, UNITTEST_ARGV = support.parse_arguments()


class ShapeSignatureTest(unittest.TestCase):
    def test_python_matches_cpp_for_every_model(self):
        lines = support.run_program(ARGUMENTS).splitlines()
        self.assertGreaterEqual(len(lines), 8, "the C++ program printed too few models")
        for line in lines:
            cpp_value, description = line.split(" ", 1)
            with self.subTest(model=description):
                python_value = mw.shape_signature(mw.parse_model(description))
                self.assertEqual(python_value, int(cpp_value),
                                 "Python gives %s, C++ gives %s" % (mw.format_signature(python_value),
                                                                    mw.format_signature(int(cpp_value))))

    def test_signature_changes_with_each_word(self):
        base = mw.parse_model("Dense(30,16),Relu,Dense(16,2)")
        variants = ["Dense(30,16),Tanh,Dense(16,2)", "Dense(31,16),Relu,Dense(16,2)", "Dense(30,16),Relu,Dense(16,3)"]
        for variant in variants:
            with self.subTest(model=variant):
                self.assertNotEqual(mw.shape_signature(mw.parse_model(variant)), mw.shape_signature(base))


if __name__ == "__main__":
    support.run_tests(UNITTEST_ARGV)
