"""``footfall deploy ...``: production deployment helpers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from footfall.deploy.credentials import CredentialsReport

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
console = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@app.command("credentials")
def credentials(
    *,
    store: list[str] = typer.Option(
        [], "--store", "-s", help="Store id (repeatable); added to the stores of --config"
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Aggregator YAML: its store registry and topic root"
    ),
    output: Path = typer.Option(
        Path("deploy/secrets"), "--output", "-o", help="Directory for passwd, acl, passwords/"
    ),
    topic_root: str | None = typer.Option(
        None, help="MQTT topic root (default: mqtt.topic_root of --config, else the protocol's)"
    ),
    rotate: list[str] = typer.Option(
        [], help="Give this user (or api-write-token) a new secret (repeatable)"
    ),
    docker: bool = typer.Option(
        False,
        "--docker",
        help="Hand the files to the Docker images' users (mosquitto 1883, footfall 10001); root",
    ),
    owner: str | None = typer.Option(
        None,
        "--owner",
        help="Give mosquitto/ (passwd, acl) to this user, e.g. mosquitto (the broker's service "
        "user on Debian); root",
    ),
    passwords_owner: str | None = typer.Option(
        None,
        "--passwords-owner",
        help="Give passwords/ to this user (the one that runs footfall's services); root",
    ),
) -> None:
    """Create MQTT logins per store, for the aggregator and for the API, and the ACL file.

    Re-running keeps existing passwords, so adding a store changes nothing for the others.
    """
    from footfall.deploy.credentials import (
        CredentialsError,
        hand_to_docker_users,
        hand_to_user,
        write_credentials,
    )

    store_ids, root = _stores_and_topic_root(config, store, topic_root)
    try:
        report = write_credentials(output, store_ids, root, rotate)
        if docker:
            hand_to_docker_users(output)
        if owner is not None:
            hand_to_user(output / "mosquitto", owner)
        if passwords_owner is not None:
            hand_to_user(output / "passwords", passwords_owner)
    except CredentialsError as error:
        raise _fail(str(error)) from None
    except OSError as error:
        raise _fail(f"cannot write credentials under {output}: {error}") from None
    _print_report(report, output, docker)
    for directory, user in (("mosquitto", owner), ("passwords", passwords_owner)):
        if user is not None:
            console.print(f"{output / directory} and its files now belong to {user} (owner-only)")


def _stores_and_topic_root(
    config: Path | None, stores: list[str], topic_root: str | None
) -> tuple[list[str], str]:
    """The stores of ``--config``'s registry followed by ``--store``; ``--topic-root``, else
    the config's, else ``footfall/v1``."""
    from aggregator.config import load_aggregator_config
    from protocol.settings import ConfigError
    from protocol.topics import TOPIC_ROOT

    store_ids = list(stores)
    root = topic_root
    if config is not None:
        try:
            loaded = load_aggregator_config(config)
        except ConfigError as error:
            raise _fail(str(error)) from None
        store_ids = [registered.id for registered in loaded.stores] + store_ids
        root = root or loaded.mqtt.topic_root
    return store_ids, root or TOPIC_ROOT


def _print_report(report: CredentialsReport, output: Path, docker: bool) -> None:
    from footfall.deploy.credentials import API_WRITE_TOKEN

    for user in [*report.users, API_WRITE_TOKEN]:
        state = "new" if user in report.created else "kept"
        console.print(f"  {user}: {state} ({output / 'passwords' / (user + '.txt')})")
    for stale in report.stale_password_files:
        console.print(f"[yellow]note:[/] {stale} belongs to no listed user; its login is gone")
    console.print(
        f"[green]ok[/] wrote {output / 'mosquitto' / 'passwd'} and {output / 'mosquitto' / 'acl'}"
        + ("" if docker else " (owner-only; for deploy/compose.yaml run again with --docker)")
    )
