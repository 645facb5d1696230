"""`tctl completion bash|zsh|fish`: the shell's completion script."""

from __future__ import annotations

import typer

HELP = """Print the completion script of a shell: commands, options, kinds, clusters (from the kubeconfig, a --fleet snapshot or the store), namespaces and object names complete on TAB.

bash (4.4 or later):  source <(tctl completion bash)   (or write it to ~/.local/share/bash-completion/completions/tctl)

zsh:  source <(tctl completion zsh)   (or write it as _tctl into a folder of $fpath)

fish:  tctl completion fish | source   (or write it to ~/.config/fish/completions/tctl.fish)
"""


def command(
    ctx: typer.Context,
    shell: str = typer.Argument(..., metavar="SHELL", help="bash, zsh or fish."),
) -> None:
    from tctl_py.cli.shells import SHELLS, script
    from tctl_py.errors import UsageError

    if shell not in SHELLS:
        raise UsageError(f'no completion for the shell "{shell}"; choose one of: {", ".join(SHELLS)}')
    typer.echo(script(ctx.find_root().command, shell), nl=False)
