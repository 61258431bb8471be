"""The notebook's own definitions, for the tests and the benchmark: they use its code, never a copy."""
import ast
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, 'dlnd_face_generation.ipynb')
KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def code_cells(path=NOTEBOOK):
    """The source of each code cell, IPython's % and ! lines left out."""
    with open(path) as f:
        cells = json.load(f)['cells']
    for cell in cells:
        if cell['cell_type'] == 'code':
            lines = ''.join(cell['source']).splitlines()
            yield '\n'.join(line for line in lines if not line.lstrip().startswith(('%', '!')))


def _is_definition(node):
    return (isinstance(node, KEPT)
            or (isinstance(node, ast.Assign) and not isinstance(node.value, ast.Call))
            # a guarded import such as `with helper.native_stderr_silenced(): import ...`
            or (isinstance(node, ast.With) and all(isinstance(inner, KEPT + (ast.Assign,)) for inner in node.body)))


def load_notebook_functions(path=NOTEBOOK, namespace=None):
    """Execute the notebook's imports, constants and function definitions (nothing else: no
    downloads, no training) and return them as a dict."""
    namespace = {} if namespace is None else namespace
    for source in code_cells(path):
        tree = ast.parse(source)
        tree.body = [node for node in tree.body if _is_definition(node)]
        exec(compile(tree, path, 'exec'), namespace)
    return namespace


def training_settings(dataset_name, path=NOTEBOOK):
    """The constants the notebook's training cell for dataset_name sets (batch_size, z_dim,
    learning_rate, beta1, epochs, ...), read from the cell, so that nothing copies them."""
    marker = f"helper.Dataset('{dataset_name}'"
    source = next((s for s in code_cells(path) if marker in s), None)
    if source is None:
        raise ValueError(f'The notebook has no training cell for {dataset_name!r} (no cell calls {marker}...).')
    return {node.targets[0].id: node.value.value for node in ast.parse(source).body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            and isinstance(node.targets[0], ast.Name)}
