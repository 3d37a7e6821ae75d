"""The documentation site covers the public API, and reports the package's version."""

import importlib
import importlib.metadata
import inspect
import pathlib
import re

import pytest

import jaxrnn

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ['kernels', 'linen', 'nnx', 'convert', 'teach', 'teach.lessons']


def _public(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    return {n for n, v in vars(module).items() if not n.startswith('_') and not inspect.ismodule(v)}


def _documented(page: str) -> set[str]:
    text = (ROOT / 'docs' / 'api' / page).read_text()
    return set(re.findall(r'^\.\. auto(?:function|class|data|exception):: ([\w.]+)', text, re.M))


@pytest.mark.parametrize('package', PACKAGES)
def test_every_public_name_has_an_api_entry(package):
    """Each name a package exports has an autodoc entry on its API page, and each entry
    names something the package exports (a renamed function fails here, not silently)."""
    module_name = f'jaxrnn.{package}'
    documented = _documented(f'{package}.md')
    assert {f'{module_name}.{n}' for n in _public(module_name)} == documented


def test_the_cli_page_documents_every_command():
    """The CLI page prints each command's --help at build time from the parser."""
    from jaxrnn import cli

    parser = cli.parser()
    (subparsers,) = [a for a in parser._actions if a.__class__.__name__ == '_SubParsersAction']
    assert set(subparsers.choices) == {'demo', 'trace', 'lesson', 'compare'}
    text = (ROOT / 'docs' / 'api' / 'cli.md').read_text()
    assert 'cli.parser()' in text and '{code-cell}' in text


def test_one_version_for_the_package_the_docs_and_the_changelog():
    assert importlib.metadata.version('jaxrnn') == jaxrnn.__version__
    assert 'release = jaxrnn.__version__' in (ROOT / 'docs' / 'conf.py').read_text()
    changelog = (ROOT / 'CHANGELOG.md').read_text()
    first = re.search(r'^## (\S+)', changelog, re.M)
    assert first and first.group(1) == jaxrnn.__version__
