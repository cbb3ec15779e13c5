"""``embodia collect`` makes a dataset; ``embodia dataset info|validate|filter|export`` show, check, filter and
export one (``export --format lerobot``: LeRobot's v3.0 layout).

A dataset is a folder of recorded episodes or a local Minari dataset id (see ``embodia.envs.record.dataset``).
Exit status: 0 done, 1 ``validate`` found problems (INVALID), 2 a usage error or a file that cannot be used (one
line naming it; a dataset with an unreadable episode file is refused as a whole, see the dataset module).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

from embodia.commands.common import UsageError, add_distributed_arguments, check_task, distributed_options, seed_int

#: Minari's dataset id syntax, (namespace/)name-vN, with the version required here so that ids are explicit
MINARI_ID = re.compile(r"^(?:[-\w][-\w/]*[-\w]/)?[-\w]+-v\d+$")
#: exit status of a dataset that fails validation
INVALID = 1


def check_minari_id(name: str) -> str:
    if not MINARI_ID.match(name):
        raise UsageError(
            f"dataset id {name!r} is not a Minari id; use (namespace/)name-vN, e.g. embodia/handover/expert-v0"
        )
    return name


def default_dataset_id(env_id: str, policy: str) -> str:
    task = env_id.split("/")[-1].split("-")[0].lower()
    return f"embodia/{task}/{policy}-v0"


def cmd_collect(args: argparse.Namespace) -> int:
    from embodia.agents.distributed import DistributedError
    from embodia.agents.evaluate import run_episodes
    from embodia.envs.record import dataset as ds

    env_id = check_task(args.task)
    if args.episodes < 1 or args.num_envs < 1:
        raise UsageError("--episodes and --num-envs must be positive")
    spread = distributed_options(args)
    if spread["resume"]:
        raise UsageError("collect writes a new dataset; --resume continues `embodia run --record DIR` recordings")
    dataset_id = check_minari_id(args.out or default_dataset_id(env_id, args.policy))
    target = ds.minari_path(dataset_id)
    if target.exists() and not args.overwrite:
        raise UsageError(f"Minari dataset {dataset_id} exists ({target}); choose another --out or pass --overwrite")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".collect-", dir=target.parent) as staging:
        try:
            summary = run_episodes(
                env_id,
                policy=args.policy,
                episodes=args.episodes,
                seed=args.seed,
                num_envs=args.num_envs,
                record_dir=Path(staging) / "run",
                progress=not args.quiet,
                video=args.video,
                render_size=(240, 320),
                env_kwargs={"render_preset": "fast"},
                **spread,
            )
            files = ds.find_episode_files(Path(staging) / "run")
            folder = ds.export_minari(files, dataset_id, args.policy, overwrite=args.overwrite)
        except (ds.DatasetError, ValueError, FileExistsError, DistributedError) as error:
            raise UsageError(str(error)) from None
    print(
        f"{dataset_id}: {summary['episodes']} episodes of {env_id} by {args.policy} "
        f"(success rate {summary['success_rate']:.1%}, mean return {summary['mean_return']:.3f})"
    )
    print(f"minari: minari.load_dataset({dataset_id!r})  [{folder}]")
    print(f"episode files (exact states, for replay and review): {folder / ds.EPISODES_DIR}")
    return 0


def open_or_fail(name: str):
    """The dataset; a ``DatasetError`` (a one-line ``DataFileError``) reaches ``embodia.cli.main`` as it is."""
    from embodia.envs.record import dataset as ds

    return ds.open_dataset(name)


def cmd_info(args: argparse.Namespace) -> int:
    from embodia.envs.record import dataset as ds

    info = ds.dataset_info(open_or_fail(args.dataset))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(
        f"{info['dataset']} ({info['kind']}): {info['episodes']} episodes, {info['steps']} steps, {info['size_mb']} MB"
    )
    print(f"task: {', '.join(info['env_ids'])}    policy: {', '.join(info['policies'])}")
    print(
        f"success rate {info['success_rate']:.1%}, mean return {info['mean_return']:.3f}, "
        f"mean length {info['mean_length']:.1f}"
    )
    print("shapes: " + ", ".join(f"{k} {tuple(v)}" for k, v in info["shapes"].items()))
    for versions in info["versions"]:
        print("recorded with: " + ", ".join(f"{k} {v}" for k, v in (versions or {}).items()))
    if "minari" in info:
        m = info["minari"]
        print(f"minari: {m['id']}: {m['total_episodes']} episodes, {m['total_steps']} steps, env {m['env_spec']}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from embodia.envs.record import dataset as ds

    if args.replay_sample < 0:
        raise UsageError(f"--replay-sample must be >= 0 (0: none), got {args.replay_sample}")
    dataset = open_or_fail(args.dataset)
    episodes, replayed, problems = ds.validate(dataset, replay_sample=args.replay_sample, seed=args.seed)
    for problem in problems:
        print(f"problem: {problem}")
    verdict = "INVALID" if problems else "valid"
    counts = f"{episodes} episodes checked, {replayed} replayed exactly, {len(problems)} problems"
    print(f"{dataset.name}: {verdict} ({counts})")
    return INVALID if problems else 0


def cmd_export(args: argparse.Namespace) -> int:
    from embodia.envs.record import dataset as ds
    from embodia.envs.record.lerobot_export import LeRobotExportError, export_lerobot

    source = open_or_fail(args.dataset)
    if args.format == "minari":
        return export_as_minari(source, str(args.out), args.overwrite)
    cameras = tuple(args.camera or ("front",))
    try:
        out = export_lerobot(source.episode_files, args.out, cameras=cameras, image_size=tuple(args.image_size),
                             overwrite=args.overwrite)  # fmt: skip
    except (LeRobotExportError, ds.DatasetError, ValueError) as error:
        raise UsageError(str(error)) from None
    info = json.loads((out / "meta" / "info.json").read_text())
    print(
        f"{source.name} -> {out}: LeRobot {info['codebase_version']}, {info['total_episodes']} episodes, "
        f"{info['total_frames']} frames, {info['total_tasks']} tasks, videos {', '.join(cameras)}"
    )
    return 0


def export_as_minari(source, dataset_id: str, overwrite: bool) -> int:
    """A folder of episodes (a reviewed or filtered run, human demonstrations) as a Minari dataset."""
    from embodia.envs.record import dataset as ds

    dataset_id = check_minari_id(dataset_id)
    policies = sorted({str(ds.read_episode(path).metadata.get("policy")) for path in source.episode_files})
    try:
        folder = ds.export_minari(source.episode_files, dataset_id, "+".join(policies), overwrite=overwrite)
    except (ds.DatasetError, ValueError, FileExistsError) as error:
        raise UsageError(str(error)) from None
    print(f"{source.name} -> {dataset_id}: {len(source.episode_files)} episodes; minari.load_dataset({dataset_id!r})")
    print(f"episode files (exact states, for replay and review): {folder / ds.EPISODES_DIR}")
    return 0


def cmd_filter(args: argparse.Namespace) -> int:
    from embodia.envs.record import dataset as ds

    source = open_or_fail(args.dataset)
    if args.success and args.failure:
        raise UsageError("--success and --failure exclude each other")
    if not (args.success or args.failure or args.review or args.min_return is not None):
        raise UsageError("give at least one condition: --success, --failure, --min-return or --review FILE")
    try:
        verdicts = ds.review_verdicts(args.review, source) if args.review else None
        kept = ds.select(
            source,
            success=True if args.success else (False if args.failure else None),
            min_return=args.min_return,
            verdicts=verdicts,
            verdict=args.verdict,
        )
        if not kept:
            raise UsageError(f"no episode of {source.name} passes the filter; nothing written")
        note = {
            "success": args.success or (False if args.failure else None),
            "min_return": args.min_return,
            "review": str(args.review) if args.review else None,
            "verdict": args.verdict if args.review else None,
        }
        if source.minari_id:
            dataset_id = check_minari_id(args.out)
            if dataset_id == source.minari_id:
                raise UsageError(f"--out {dataset_id} is the source dataset; choose a new id")
            policy = ",".join(ds.dataset_info(source)["policies"])
            folder = ds.export_minari(kept, dataset_id, policy, f"{source.name} filtered by {note}", args.overwrite)
            where = f"Minari dataset {dataset_id} [{folder}]"
        else:
            out = Path(args.out)
            if out.resolve() == source.root.resolve() or source.root.resolve() in out.resolve().parents:
                raise UsageError(f"--out {out} is inside the source dataset; choose a folder outside {source.root}")
            ds.copy_episodes(kept, out, source, note, args.overwrite)
            where = str(out)
    except (FileExistsError, NotADirectoryError) as error:
        raise UsageError(str(error)) from None
    print(f"kept {len(kept)} of {len(source.episode_files)} episodes -> {where}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    collect = commands.add_parser("collect", help="run a policy and save its episodes as a Minari dataset")
    collect.add_argument("task", metavar="TASK", help="task id, e.g. embodia/Handover-v0")
    collect.add_argument("--episodes", type=int, default=100)
    collect.add_argument("--policy", choices=("expert", "random"), default="expert")
    collect.add_argument("--out", metavar="NAME", help="Minari dataset id (default embodia/<task>/<policy>-v0)")
    collect.add_argument("--seed", type=seed_int, default=0, help="episode k is seeded with SEED + k")
    collect.add_argument("--num-envs", type=int, default=8, help="simulations run side by side (results do not change)")
    collect.add_argument("--video", action="store_true", help="also record a small MP4 per episode (for review)")
    collect.add_argument("--overwrite", action="store_true", help="replace a dataset of the same id")
    collect.add_argument("--quiet", action="store_true", help="no progress bar")
    add_distributed_arguments(collect)
    collect.set_defaults(
        handler=cmd_collect, on_stop=lambda args: "; no dataset written (one is made only when every episode has run)"
    )

    dataset = commands.add_parser("dataset", help="show, check or filter a dataset (folder or Minari id)")
    actions = dataset.add_subparsers(dest="action", required=True, metavar="ACTION")
    info = actions.add_parser("info", help="task, policy, episodes, steps, success, shapes, versions")
    info.add_argument("dataset", metavar="DATASET", help="a folder of episodes or a local Minari dataset id")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(handler=cmd_info)
    validate = actions.add_parser("validate", help="schema, finite values, exact replay of a sample")
    validate.add_argument("dataset", metavar="DATASET")
    validate.add_argument("--replay-sample", type=int, default=3, help="episodes to replay exactly (0: none)")
    validate.add_argument("--seed", type=seed_int, default=0, help="which episodes the sample takes")
    validate.set_defaults(handler=cmd_validate)
    filt = actions.add_parser("filter", help="keep episodes by success, return or a review file's verdicts")
    filt.add_argument("dataset", metavar="DATASET")
    filt.add_argument("--out", required=True, help="new folder (for a folder) or new Minari id (for a Minari dataset)")
    filt.add_argument("--success", action="store_true", help="only successful episodes")
    filt.add_argument("--failure", action="store_true", help="only failed episodes")
    filt.add_argument("--min-return", type=float, help="only episodes with at least this return")
    filt.add_argument("--review", type=Path, metavar="FILE", help="a review file exported by the review page")
    filt.add_argument("--verdict", choices=("accepted", "rejected"), default="accepted", help="with --review")
    filt.add_argument("--overwrite", action="store_true", help="replace an existing output")
    filt.set_defaults(handler=cmd_filter)

    export = actions.add_parser("export", help="write the dataset in another tool's layout (LeRobot v3.0)")
    export.add_argument("dataset", metavar="DATASET")
    export.add_argument("--format", choices=("lerobot", "minari"), required=True, help="the layout to write")
    export.add_argument(
        "--out", required=True, type=Path, help="the new dataset's folder (lerobot) or Minari id (minari)"
    )
    export.add_argument("--camera", action="append", help="a video per camera (repeat; default front), e.g. work")
    export.add_argument("--image-size", type=int, nargs=2, default=(240, 320), metavar=("H", "W"),
                        help="video frame size (even numbers)")  # fmt: skip
    export.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    export.set_defaults(handler=cmd_export)
