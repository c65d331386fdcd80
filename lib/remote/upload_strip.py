"""Strips the helper's comments and docstrings for its upload.

`deno task embed` runs this on the helper's modules before packing them: the
first call to a host uploads the result and Python compiles it there, so
every byte of prose is paid on the cold path. Line numbers are kept (a
removed line becomes an empty one), so a traceback from a host still points
at the right line of the source.

Reads a JSON object {name: text} on stdin and writes the stripped texts the
same way. Before it answers it proves each result is the same program: the
same syntax tree once docstrings are emptied, and every statement on the
same line. On any difference it names the module and exits 1.
"""

import ast
import io
import json
import sys
import tokenize

DOC_OWNERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def docstrings(tree):
    """The string statements that open a module, class or function body."""
    for node in ast.walk(tree):
        if isinstance(node, DOC_OWNERS) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr)
                    and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                yield first


def strip(text):
    lines = text.split("\n")
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            lines[row - 1] = lines[row - 1][:col].rstrip()
    for doc in docstrings(ast.parse(text)):
        first, last = doc.lineno - 1, doc.end_lineno - 1
        indent = lines[first][:doc.col_offset]
        # Only a docstring alone on its lines: one sharing a line with code
        # (`def f(): "doc"`) stays as it is.
        if indent.strip() or lines[last][doc.end_col_offset:].strip():
            continue
        for row in range(first, last + 1):
            lines[row] = ""
        # An empty string keeps a body that held only its docstring valid.
        lines[first] = indent + '""'
    return "\n".join(lines)


def shape(text):
    """The program without its prose: the tree with docstrings emptied, and
    the line of every statement but the docstrings."""
    tree = ast.parse(text)
    docs = set(map(id, docstrings(tree)))
    for doc in docstrings(tree):
        doc.value.value = ""
    rows = [(type(node).__name__, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.stmt) and id(node) not in docs]
    return ast.dump(tree), rows


def main():
    sources = json.load(sys.stdin)
    stripped = {}
    for name, text in sources.items():
        try:
            ast.parse(text, name)
        except SyntaxError as e:
            sys.stderr.write("upload_strip: cannot parse %s: %s\n" % (name, e))
            return 1
        stripped[name] = strip(text)
        if shape(stripped[name]) != shape(text):
            sys.stderr.write("upload_strip: stripping changed the program of %s\n" % name)
            return 1
    json.dump(stripped, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
