"""docs/ARCHITECTURE.md stays true: it names every rule and every library module, and every rule
that does work logs to logs/<rule>/."""

from __future__ import annotations

import re

from conftest import REPO

ARCHITECTURE = (REPO / "docs/ARCHITECTURE.md").read_text()
RULE = re.compile(r"^(?:rule (\w+):|use rule \w+ as (\w+) with:)", re.MULTILINE)


def _rules() -> dict[str, str]:
    """Every rule of the Snakefile and its rule files -> its block of text."""
    rules = {}
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]:
        text = path.read_text()
        starts = list(RULE.finditer(text))
        if not starts:
            continue
        ends = [match.start() for match in starts[1:]] + [len(text)]
        for match, end in zip(starts, ends, strict=True):
            rules[match.group(1) or match.group(2)] = text[match.start() : end]
    return rules


def test_every_rule_is_in_the_architecture_page() -> None:
    rules = _rules()
    assert len(rules) > 30 and "select_task1" in rules and "audit_gate" in rules
    missing = [name for name in rules if f"`{name}`" not in ARCHITECTURE]
    assert not missing, f"docs/ARCHITECTURE.md names no rule {missing}"


def test_every_module_is_in_the_architecture_page() -> None:
    root = REPO / "src/ctprints"
    modules = [
        ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if path.stem != "__init__"
    ]
    named = re.compile(r"`(?:ctprints\.)?([\w.]+?)[`.(]|src/ctprints/(\w+)\.py")
    seen = {a or b for a, b in named.findall(ARCHITECTURE)}
    seen |= set(re.findall(r"`(?:ctprints\.)?(\w+\.\w+)", ARCHITECTURE))
    missing = [name for name in modules if name not in seen]
    assert not missing, f"docs/ARCHITECTURE.md names no module {missing}"


def test_every_rule_with_a_log_logs_under_its_own_name() -> None:
    logged = 0
    for name, block in _rules().items():
        log = re.search(r"\n    log:\n\s+\"([^\"]+)\"", block)
        if log:
            logged += 1
            assert log.group(1).startswith(f"logs/{name}/"), (name, log.group(1))
        benchmark = re.search(r"\n    benchmark:\n\s+\"([^\"]+)\"", block)
        if benchmark:
            assert benchmark.group(1).startswith(f"logs/benchmarks/{name}/"), name
    assert logged > 20


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(REPO)): length
        for path in (REPO / "src/ctprints").rglob("*.py")
        if (length := len(path.read_text().splitlines())) > 600
    }
    assert not long, f"modules over 600 lines: {long}"


def test_no_function_is_over_80_lines_unless_a_comment_says_why() -> None:
    """A longer function carries a `# long: <why>` comment on the line above or its first lines."""
    import ast

    long = []
    for path in (REPO / "src/ctprints").rglob("*.py"):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                head = "\n".join(lines[max(node.lineno - 2, 0) : node.lineno + 3])
                if length > 80 and "# long:" not in head:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({length})")
    assert not long, f"functions over 80 lines: {long}"


def test_no_module_imports_another_modules_private_names() -> None:
    """A name that starts with _ is its module's own: the library, the rule scripts and the
    benchmarks import only public names (tests may reach in)."""
    import ast

    files = [*(REPO / "src/ctprints").rglob("*.py"), *(REPO / "workflow").rglob("*.py")]
    files += [*(REPO / "benchmarks").rglob("*.py")]
    private = [
        f"{path.relative_to(REPO)}:{node.lineno} {alias.name}"
        for path in files
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module != "__future__"
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert not private, f"private names imported across modules: {private}"


def test_the_glossary_defines_each_term_once_and_benchmark_means_performance() -> None:
    """The glossary opens the page, and 'benchmark' in the workflow and the library is only ever
    a performance measurement (benchmarks/, the rules' benchmark: files), never the demo data."""
    glossary = ARCHITECTURE.split("## Glossary", 1)[1].split("\n## ", 1)[0]
    terms = re.findall(r"^- \*\*([^*]+)\*\*", glossary, re.MULTILINE)
    assert {"benchmark", "demo data", "scenario", "patient", "embedding", "group"} <= set(terms)
    assert len(terms) == len(set(terms))
    allowed = re.compile(r"benchmark:|logs/benchmarks|benchmarks/|cudnn\.benchmark")
    files = [REPO / "Snakefile", *(REPO / "workflow").rglob("*.smk")]
    files += [*(REPO / "workflow").rglob("*.py"), *(REPO / "src/ctprints").rglob("*.py")]
    stray = [
        f"{path.relative_to(REPO)}:{number}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"benchmark", line, re.IGNORECASE) and not allowed.search(line)
    ]
    assert not stray, f"'benchmark' outside its glossary meaning: {stray}"
