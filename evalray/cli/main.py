"""The ``evalray`` command. Each command group lives in its own module and registers itself on the app; this module
only turns :class:`~evalray.errors.EvalrayError` into one line on stderr and a non-zero exit code."""

from __future__ import annotations

import sys

import typer

from evalray import __version__

app = typer.Typer(
    name="evalray",
    help="Ray-based, scalable evaluation and load testing for large language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"evalray {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Evaluate models on benchmarks (run, submit) and load-test endpoints (perf) on Ray."""


def _register_commands() -> None:
    from evalray.cli import eval_commands

    eval_commands.register(app)
    for module_name in ("quick_commands", "perf_commands", "serve_commands", "cluster_commands", "report_commands",
                        "export_commands"):
        try:
            module = __import__(f"evalray.cli.{module_name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != f"evalray.cli.{module_name}":
                raise
            continue
        module.register(app)


_register_commands()


def main() -> None:
    from evalray.errors import EvalrayError

    try:
        code = app(standalone_mode=False)  # a typer.Exit(code) inside a command comes back as the return value
    except EvalrayError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:  # Ctrl-C (130) or SIGTERM (143, evalray.errors.Terminated)
        typer.echo("terminated" if getattr(exc, "exit_code", 130) == 143 else "interrupted", err=True)
        sys.exit(getattr(exc, "exit_code", 130))
    except SystemExit:
        raise
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors and the unexpected: one line, no traceback
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):  # click turns a KeyboardInterrupt (or SIGTERM's) into Abort
            code = getattr(exc.__cause__ or exc.__context__, "exit_code", 130)
            typer.echo("terminated" if code == 143 else "interrupted", err=True)
            sys.exit(code)
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
