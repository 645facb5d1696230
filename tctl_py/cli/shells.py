"""Shell completion for bash, zsh and fish: the script each shell loads, and the answers tctl
gives it on every TAB.

The protocol is click's: the script runs tctl with `_TCTL_COMPLETE={shell}_complete` and the
command line in COMP_WORDS (bash and zsh also pass COMP_CWORD, the index of the word being
completed; fish passes that word itself). tctl answers with one completion per line, as
`type,value` (bash, fish) or as three lines type, value, help (zsh); the type `file` asks the
shell to complete paths itself, as bash also does when tctl offers nothing (`-f`, `--fleet`).
"""

from __future__ import annotations

import os
from typing import Any

from typer._click.shell_completion import CompletionItem, ShellComplete, split_arg_string

COMPLETE_VAR = "_TCTL_COMPLETE"

_BASH = """\
# bash completion for %(prog)s (bash 4.4 or later); load it with: source <(%(prog)s completion bash)
%(function)s() {
    local line
    COMPREPLY=()
    while IFS= read -r line; do
        case "${line%%%%,*}" in
            file|dir) COMPREPLY=(); compopt -o default; return ;;
            *) COMPREPLY+=("${line#*,}") ;;
        esac
    done < <(COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD="$COMP_CWORD" %(var)s=bash_complete "${COMP_WORDS[0]}")
}
complete -o nosort -o default -F %(function)s %(prog)s
"""

_ZSH = """\
#compdef %(prog)s
# zsh completion for %(prog)s; load it with: source <(%(prog)s completion zsh)
%(function)s() {
    local -a answer described
    local type value help
    answer=("${(@f)$(COMP_WORDS="${words[*]}" COMP_CWORD=$((CURRENT - 1)) %(var)s=zsh_complete "${words[1]}")}")
    for type value help in "${answer[@]}"; do
        case "$type" in
            file|dir) _files; return ;;
            *) described+=("${value//:/\\\\:}:${help:#_}") ;;
        esac
    done
    (( ${#described} )) && _describe -V values described
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    %(function)s "$@"
else
    compdef %(function)s %(prog)s
fi
"""

_FISH = """\
# fish completion for %(prog)s; load it with: %(prog)s completion fish | source
function %(function)s
    set -l answer (env %(var)s=fish_complete COMP_WORDS=(commandline -cp) COMP_CWORD=(commandline -ct) %(prog)s)
    for line in $answer
        set -l parts (string split -m 1 "," -- $line)
        switch $parts[1]
            case file dir
                __fish_complete_path (commandline -ct)
            case '*'
                echo $parts[2]
        end
    end
end
complete --command %(prog)s --no-files --arguments "(%(function)s)"
"""


class _Shell(ShellComplete):
    def source_vars(self) -> dict[str, Any]:
        return {"prog": self.prog_name, "function": self.func_name, "var": self.complete_var}

    def get_completion_args(self) -> tuple[list[str], str]:
        """The words before the one being completed, global options moved before the command
        as tctl runs them (`tctl get se --fleet DIR --cluster <TAB>`), and that word."""
        from tctl_py.cli.state import hoist_global_options, takes_a_value

        args, incomplete = self.words()
        if args and takes_a_value(args[-1]):  # completing its value: only the option matters
            return [args[-1]], incomplete
        return hoist_global_options(args), incomplete

    def words(self) -> tuple[list[str], str]:
        words = split_arg_string(os.environ.get("COMP_WORDS", ""))
        index = int(os.environ.get("COMP_CWORD") or len(words))
        return words[1:index], words[index] if index < len(words) else ""

    def format_completion(self, item: CompletionItem) -> str:
        return f"{item.type},{item.value}"


class Bash(_Shell):
    name = "bash"
    source_template = _BASH


class Zsh(_Shell):
    name = "zsh"
    source_template = _ZSH

    def format_completion(self, item: CompletionItem) -> str:
        return f"{item.type}\n{item.value}\n{item.help or '_'}"


class Fish(_Shell):
    name = "fish"
    source_template = _FISH

    def words(self) -> tuple[list[str], str]:
        words = split_arg_string(os.environ.get("COMP_WORDS", ""))
        incomplete = os.environ.get("COMP_CWORD", "")
        args = words[1:]
        if incomplete and args and args[-1] == incomplete:  # fish's line ends with the word
            args.pop()
        return args, incomplete


SHELLS: dict[str, type[_Shell]] = {shell.name: shell for shell in (Bash, Zsh, Fish)}


def script(command, shell: str) -> str:
    return SHELLS[shell](command, {}, "tctl", COMPLETE_VAR).source()


def answer(command, instruction: str) -> int:
    """Reply to the shell's `{shell}_complete` (or `{shell}_source`) request; the exit code."""
    import sys

    shell, _, action = instruction.partition("_")
    if shell not in SHELLS or action not in ("complete", "source"):
        sys.stderr.write(f'error: {COMPLETE_VAR}="{instruction}" is not a completion request tctl knows\n')
        return 1
    complete = SHELLS[shell](command, {}, "tctl", COMPLETE_VAR)
    text = complete.source() if action == "source" else complete.complete()
    sys.stdout.write(text + ("\n" if text and not text.endswith("\n") else ""))
    return 0
