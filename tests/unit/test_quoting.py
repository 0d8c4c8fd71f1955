"""Every value that reaches a shell goes through `mastofleet.quoting`, and the helpers hold for any
text: what `shell()` quotes, a real `sh` gets back unchanged, and a SQL literal or identifier never
ends early.

The lint reads the package's source: every f-string that becomes a shell command (a `commands=`
argument of `server.shell`, a variable named `*_command` or `*script`, what a `*_command` or
`*_check` function returns) may interpolate only a quoted value (`shell`, `shell_words`,
`sql_identifier`, `sql_literal`), another piece of shell built the same way (a `*_command` or
`*_check` call, a `*_command` or `*script` variable), a constant in capitals, or a number.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mastofleet import quoting
from mastofleet.model.release_names import release_name

PACKAGE = Path(quoting.__file__).parent
QUOTED = {"shell", "shell_words", "sql_identifier", "sql_literal", "int", "len"}
SHELL_SUFFIXES = ("_command", "_check", "script")


def _name_of(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _interpolation_is_safe(node: ast.expr) -> bool:
    if isinstance(node, ast.Call):
        name = _name_of(node.func)
        return name in QUOTED or name.endswith(SHELL_SUFFIXES)
    if isinstance(node, ast.Name | ast.Attribute):
        name = _name_of(node)
        return name.isupper() or name.endswith(SHELL_SUFFIXES)
    return isinstance(node, ast.Constant)


def _shell_strings(tree: ast.Module) -> list[ast.JoinedStr]:
    """The f-strings of a module that end up in a shell."""
    found: list[ast.JoinedStr] = []

    def collect(node: ast.AST | None) -> None:
        # What a quoting call gets is quoted as a whole (its own f-strings are data); an argument
        # list is no shell, word by word.
        if node is None or isinstance(node, ast.List) and not found_in_commands[0]:
            return
        if isinstance(node, ast.Call) and _name_of(node.func) in QUOTED:
            return
        if isinstance(node, ast.JoinedStr):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            collect(child)

    found_in_commands = [False]

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name_of(node.func) == "shell":
            for keyword in node.keywords:
                if keyword.arg == "commands":
                    found_in_commands[0] = True
                    collect(keyword.value)
                    found_in_commands[0] = False
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_name_of(target).endswith(SHELL_SUFFIXES) for target in targets):
                collect(node.value)
        elif isinstance(node, ast.FunctionDef) and node.name.endswith(SHELL_SUFFIXES[:2]):
            for item in ast.walk(node):
                if isinstance(item, ast.Return):
                    collect(item.value)
    return found


def unquoted_interpolations(source: str, filename: str) -> list[str]:
    problems = []
    for string in _shell_strings(ast.parse(source)):
        for value in string.values:
            if isinstance(value, ast.FormattedValue) and not _interpolation_is_safe(value.value):
                problems.append(f"{filename}:{value.lineno}: {{{ast.unparse(value.value)}}}")
    return sorted(set(problems))


def test_no_shell_command_of_the_package_interpolates_an_unquoted_value() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        problems += unquoted_interpolations(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    assert not problems, "quote these with mastofleet.quoting.shell (or sql_*):\n" + "\n".join(problems)


def test_the_lint_finds_an_unquoted_value_and_accepts_a_quoted_one() -> None:
    """The lint itself: it would have caught the `live` target that root ran unquoted."""
    bad = "server.shell(commands=[f\"ln -sfn {link['link_target']} {previous}.switching\"])"
    assert unquoted_interpolations(bad, "bad.py") == ["bad.py:1: {link['link_target']}", "bad.py:1: {previous}"]
    good = 'server.shell(commands=[f"ln -sfn {shell(target)} {shell(path)} && {restart_command(name)} {PATH}"])'
    assert unquoted_interpolations(good, "good.py") == []
    built = 'unpack_command = f"tar -xf {archive}"'
    assert unquoted_interpolations(built, "built.py") == ["built.py:1: {archive}"]


TEXT = st.text(st.characters(exclude_characters="\x00", codec="utf-8"), max_size=40)


# A process per example: 200 of them (not the CI profile's 1,000), and no deadline (a process's start
# is no measure of the quoting).
@settings(deadline=None, max_examples=200)
@given(TEXT)
def test_a_quoted_value_reaches_the_shell_unchanged(value: str) -> None:
    result = subprocess.run(["sh", "-c", f"printf %s {quoting.shell(value)}"], capture_output=True, check=True)
    assert result.stdout.decode() == value


@settings(deadline=None, max_examples=200)
@given(TEXT)
def test_a_command_run_as_the_user_keeps_the_script_whole(value: str) -> None:
    """`as_user_command` nests quoting twice (runuser's sh -c, then the script): the innermost word
    still arrives unchanged (runuser itself swapped for `env` here: no second user needed)."""
    command = quoting.as_user_command("nobody", f"printf %s {quoting.shell(value)}", "/")
    local = command.replace("runuser -u nobody --", "env", 1)
    assert subprocess.run(["sh", "-c", local], capture_output=True, check=True).stdout.decode() == value


@given(TEXT)
def test_sql_quoting_never_ends_the_literal_or_identifier_early(value: str) -> None:
    literal = quoting.sql_literal(value)
    identifier = quoting.sql_identifier(value)
    assert literal[0] == literal[-1] == "'" and "'" not in literal[1:-1].replace("''", "")
    assert identifier[0] == identifier[-1] == '"' and '"' not in identifier[1:-1].replace('""', "")
    assert literal[1:-1].replace("''", "'") == value and identifier[1:-1].replace('""', '"') == value


def test_release_names_are_plain_or_refused() -> None:
    assert release_name("v4.6.5-0a1b2c3d4e5f") == "v4.6.5-0a1b2c3d4e5f"
    for hostile in ("$(touch /tmp/owned)", "../../etc", "..", "a b", "v1;reboot", "x\nnext", ""):
        try:
            release_name(hostile, "previous")
        except ValueError as error:
            assert "previous" in str(error) and "not a release name" in str(error)
        else:
            raise AssertionError(f"{hostile!r} was accepted")
