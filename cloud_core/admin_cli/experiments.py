"""``cartads-admin experiments create|get|list|pause|resume|delete``: layers of arms with traffic shares."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from cartads.v1 import admin_pb2
from cloud_core.admin_cli.command import Stub, Subcommands, UsageError, add_command, add_group, list_all
from cloud_core.admin_cli.output import emit

_OVERRIDE_TYPES = {"reserve_cpm_micros": int, "click_rate_weight": float, "max_ads_per_trip": int}


def parse_arm(text: str) -> admin_pb2.ExperimentArm:
    """``ID:BPS``, ``ID:BPS:holdout`` or ``ID:BPS:key=value,key=value`` (reserve_cpm_micros,
    click_rate_weight, max_ads_per_trip)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise UsageError(f"--arm {text!r}: expected ID:BPS[:holdout|key=value,...]")
    try:
        arm = admin_pb2.ExperimentArm(arm_id=parts[0], traffic_bps=int(parts[1]))
    except ValueError as exc:
        raise UsageError(f"--arm {text!r}: traffic share must be whole basis points") from exc
    if len(parts) == 3:
        if parts[2] == "holdout":
            arm.holdout = True
            return arm
        for pair in parts[2].split(","):
            key, sep, value = pair.partition("=")
            if not sep or key not in _OVERRIDE_TYPES:
                raise UsageError(f"--arm {text!r}: overrides are {', '.join(_OVERRIDE_TYPES)} (key=value)")
            try:
                setattr(arm.overrides, key, _OVERRIDE_TYPES[key](value))
            except ValueError as exc:
                raise UsageError(f"--arm {text!r}: {key} needs a number") from exc
    return arm


def _arms_summary(layer: admin_pb2.ExperimentLayer) -> str:
    out = []
    for arm in layer.arms:
        extra = ["holdout"] if arm.holdout else []
        extra += [f"{k}={getattr(arm.overrides, k):g}" for k in _OVERRIDE_TYPES if arm.overrides.HasField(k)]
        out.append(f"{arm.arm_id}:{arm.traffic_bps}" + (f"({','.join(extra)})" if extra else ""))
    return " ".join(out)


def _print_layers(args: argparse.Namespace, layers: Sequence[admin_pb2.ExperimentLayer], single: bool = False) -> None:
    if args.json:
        emit(args, layers, [], single=single)
        return
    for layer in layers:
        state = admin_pb2.ServingState.Name(layer.state).removeprefix("SERVING_STATE_").lower()
        print(f"{layer.layer_id}  {state}  {layer.display_name}  salt={layer.salt}  arms: {_arms_summary(layer)}")


def experiments_create(stub: Stub, args: argparse.Namespace) -> None:
    layer = admin_pb2.ExperimentLayer(
        display_name=args.name, salt=args.salt or "", arms=[parse_arm(a) for a in args.arm or []]
    )
    if args.paused:
        layer.state = admin_pb2.SERVING_STATE_PAUSED
    response = stub.CreateExperimentLayer(
        admin_pb2.CreateExperimentLayerRequest(experiment_layer=layer, layer_id=args.id or "")
    )
    _print_layers(args, [response.experiment_layer], single=True)


def experiments_get(stub: Stub, args: argparse.Namespace) -> None:
    response = stub.GetExperimentLayer(admin_pb2.GetExperimentLayerRequest(layer_id=args.id))
    _print_layers(args, [response.experiment_layer], single=True)


def experiments_list(stub: Stub, args: argparse.Namespace) -> None:
    request = admin_pb2.ListExperimentLayersRequest(page_size=1000)
    _print_layers(args, list_all(stub.ListExperimentLayers, request, "experiment_layers"))


def _set_state(stub: Stub, args: argparse.Namespace, state: int) -> None:
    layer = admin_pb2.ExperimentLayer(layer_id=args.id, state=state)  # type: ignore[arg-type]
    request = admin_pb2.UpdateExperimentLayerRequest(experiment_layer=layer)
    request.update_mask.paths.append("state")
    _print_layers(args, [stub.UpdateExperimentLayer(request).experiment_layer], single=True)


def experiments_pause(stub: Stub, args: argparse.Namespace) -> None:
    _set_state(stub, args, admin_pb2.SERVING_STATE_PAUSED)


def experiments_resume(stub: Stub, args: argparse.Namespace) -> None:
    _set_state(stub, args, admin_pb2.SERVING_STATE_ACTIVE)


def experiments_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteExperimentLayer(admin_pb2.DeleteExperimentLayerRequest(layer_id=args.id))
    print(f"deleted experiment layer {args.id}")


def register(root: Subcommands) -> None:
    group = add_group(root, "experiments", "layered experiments: arms with traffic shares, overrides and holdouts")
    p = add_command(group, "create", experiments_create, "create a layer (active unless --paused)")
    p.add_argument("--id")
    p.add_argument("--name", required=True)
    p.add_argument("--salt", help="hash salt (default: a random one)")
    p.add_argument("--paused", action="store_true")
    p.add_argument(
        "--arm",
        action="append",
        required=True,
        help="ID:BPS, ID:BPS:holdout or ID:BPS:reserve_cpm_micros=N,click_rate_weight=X,max_ads_per_trip=N",
    )
    for name, handler, text in (
        ("get", experiments_get, "show a layer"),
        ("pause", experiments_pause, "stop a layer (its trips serve normally)"),
        ("resume", experiments_resume, "start a paused layer again"),
        ("delete", experiments_delete, "delete a layer"),
    ):
        add_command(group, name, handler, text).add_argument("id")
    add_command(group, "list", experiments_list, "every layer")
