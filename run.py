#!/usr/bin/env python3
"""The project's one entry point. Each command first sets up .venv from requirements.txt
(once, and again whenever requirements.txt changes), then runs inside it:

    python3 run.py notebook [--quick]   execute dlnd_face_generation.ipynb headless; writes the
                                        executed notebook and its HTML export into submission/
    python3 run.py test [PYTEST ARGS]   run the test suite
"""
import argparse
import ast
import hashlib
import json
import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, '.venv')
VENV_PYTHON = os.path.join(VENV, 'Scripts' if os.name == 'nt' else 'bin',
                           'python.exe' if os.name == 'nt' else 'python')
REQUIREMENTS = os.path.join(ROOT, 'requirements.txt')
NOTEBOOK = os.path.join(ROOT, 'dlnd_face_generation.ipynb')
KERNEL_NAME = 'facegen'  # a kernel of our own, so a user-wide "python3" kernel can't run it elsewhere


def ensure_venv():
    """Create .venv and install the pinned requirements, then re-run this command inside it."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    with open(REQUIREMENTS, 'rb') as f:
        wanted = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(VENV, 'requirements.sha256')
    installed = open(stamp).read().strip() if os.path.exists(stamp) else None
    if installed != wanted:
        if not os.path.exists(VENV_PYTHON):
            print(f'Creating {VENV} ...', flush=True)
            venv.create(VENV, with_pip=True)
        print('Installing requirements.txt into .venv (the first time takes a few minutes) ...', flush=True)
        subprocess.check_call([VENV_PYTHON, '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check',
                               '-r', REQUIREMENTS])
        subprocess.check_call([VENV_PYTHON, '-m', 'ipykernel', 'install', '--sys-prefix',
                               '--name', KERNEL_NAME, '--display-name', 'Python (face generation)'],
                              stdout=subprocess.DEVNULL)
        with open(stamp, 'w') as f:
            f.write(wanted)
    os.execv(VENV_PYTHON, [VENV_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])


def load_notebook_functions(path=NOTEBOOK, namespace=None):
    """Execute the notebook's imports, constants and function definitions (nothing else: no
    downloads, no training) and return them as a dict. Tests and benchmarks use the notebook's
    own code this way instead of a copy of it."""
    with open(path) as f:
        cells = json.load(f)['cells']
    namespace = {} if namespace is None else namespace
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    for cell in cells:
        if cell['cell_type'] != 'code':
            continue
        source = ''.join(cell['source'])
        source = '\n'.join(line for line in source.splitlines() if not line.lstrip().startswith(('%', '!')))
        tree = ast.parse(source)
        tree.body = [node for node in tree.body
                     if isinstance(node, keep)
                     or (isinstance(node, ast.Assign) and not isinstance(node.value, ast.Call))]
        exec(compile(tree, path, 'exec'), namespace)
    return namespace


def run_notebook(quick, output_dir):
    import nbconvert
    import nbformat
    import papermill
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    os.makedirs(output_dir, exist_ok=True)
    executed = os.path.join(output_dir, os.path.basename(NOTEBOOK))
    html = os.path.splitext(executed)[0] + '.html'
    print(f'Executing {os.path.basename(NOTEBOOK)}{" (quick check)" if quick else ""} ...', flush=True)
    try:
        papermill.execute_notebook(NOTEBOOK, executed,
                                   parameters={'quick_run': quick, 'samples_dir': os.path.join(output_dir, 'samples')},
                                   kernel_name=KERNEL_NAME, cwd=ROOT, progress_bar=True)
    except papermill.PapermillExecutionError as err:
        sys.exit(f'A notebook cell failed ({err.ename}: {err.evalue}). The executed notebook, '
                 f'with the error in place, is in {executed}.')
    # A progress bar arrives as many small stream outputs: merge each run of them and keep only
    # what a live notebook would finally show (the last state of each bar).
    notebook, _ = CoalesceStreamsPreprocessor().preprocess(nbformat.read(executed, as_version=4), {})
    nbformat.write(notebook, executed)
    body, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    with open(html, 'w', encoding='utf-8') as f:
        f.write(body)
    print(f'Wrote {executed}\nWrote {html}')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', required=True)
    nb = commands.add_parser('notebook', help='execute the notebook and export it to HTML')
    nb.add_argument('--quick', action='store_true', help='train only a few batches: checks that every cell runs')
    nb.add_argument('--output', default=os.path.join(ROOT, 'submission'), help='folder for the results')
    commands.add_parser('test', help='run the test suite', add_help=False)
    args, rest = parser.parse_known_args()

    ensure_venv()
    if args.command == 'notebook':
        run_notebook(args.quick, args.output)
    elif args.command == 'test':
        import pytest
        sys.exit(pytest.main(['-q', os.path.join(ROOT, 'tests')] + rest))


if __name__ == '__main__':
    main()
