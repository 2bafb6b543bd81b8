"""What every ``cartads-admin`` command is: a handler of the parsed flags over the AdminService stub,
registered in its resource's group by ``add_group`` and ``add_command``; and the steps handlers share
(reading a time, naming the fields an update sets, following list pages)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

from google.protobuf.timestamp_pb2 import Timestamp

from cartads.v1 import admin_pb2_grpc

Stub = admin_pb2_grpc.AdminServiceStub
# A handler returns nothing, or an exit status when the command ran but its answer is a failure.
Handler = Callable[[Stub, argparse.Namespace], int | None]
# The subcommands of the root parser or of a group (argparse's type for it is private).
Subcommands = Any


class UsageError(Exception):
    """Bad command-line input found after parsing (e.g. a malformed date)."""


class OneLineErrors(argparse.ArgumentParser):
    """An argparse parser whose errors are one line and a hint, not the whole usage block.

    The usage of a command with twenty flags buries the one that was missing; ``--help`` still
    prints it all. Subparsers take the class of their parent, so the root's choice covers every command.
    """

    def error(self, message: str) -> NoReturn:
        root = self.prog.split()[0]
        self.exit(2, f"{root}: error: {message}\n{root}: hint: `{self.prog} --help` lists every flag\n")


def add_group(root: Subcommands, name: str, help_text: str, description: str = "") -> Subcommands:
    """A resource's group of commands (``cartads-admin NAME ACTION``); its subcommands."""
    parser = root.add_parser(name, help=help_text, description=description or help_text)
    return parser.add_subparsers(dest="action", metavar="ACTION", required=True)


def add_command(group: Subcommands, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    """A command of ``group`` that runs ``handler``; its parser, for the command's own flags."""
    parser: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def parse_time(text: str) -> Timestamp:
    """ISO 8601; a time without a zone is taken as UTC."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{text!r} is not an ISO 8601 date or time") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    ts = Timestamp()
    ts.FromDatetime(dt.astimezone(UTC))
    return ts


def given_paths(args: argparse.Namespace, flag_fields: Mapping[str, str]) -> list[str]:
    """The field paths (values of ``flag_fields``) whose flags were given: an update's mask."""
    return [path for flag, path in flag_fields.items() if getattr(args, flag) is not None]


def list_all(call: Callable[[Any], Any], request: Any, field: str) -> list[Any]:
    """Every row of a List method, following next_page_token from ``request`` on."""
    rows: list[Any] = []
    while True:
        response = call(request)
        rows.extend(getattr(response, field))
        if not response.next_page_token:
            return rows
        request.page_token = response.next_page_token
