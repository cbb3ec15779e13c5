"""Record every episode a batched env runs into a run folder: episode files, videos, JSON results, a summary.

The recorder listens to a ``BatchedEnv`` (``env.listeners``), so it sees each reset and step of every simulation
whoever drives the env: the CLI, the Gymnasium wrappers (single or vector, with autoreset), or user code. It stores
each step once for the whole batch (a copy per array, not per simulation), and cuts a simulation's episode out
when it ends, so recording stays cheap at any batch size.

A run folder holds ``meta.json`` (written first), ``scene.xml``, per episode ``episode_XXXX.npz`` (written last,
atomically: its presence means the episode is complete), ``episode_XXXX.json`` and optionally
``episode_XXXX.mp4``, and ``summary.json`` when the recorder closes. Episodes still running at ``close`` are
incomplete and are not written. Episode files are compressed and written on a background thread (one, so they land
in order); ``close`` waits for them and re-raises any write error.

Over 600 lines because the run folder's layout (metadata, episode cuts, videos, summary) is written in one place;
the episode format and its reader live in ``episode.py``, the video encoder in its own module.

Stopping a run: within ``stop_on_signals()`` SIGTERM ends a run as Ctrl-C (SIGINT) does, by raising
``Interrupted`` (a ``KeyboardInterrupt``) in the main thread, so every ``finally`` runs: the episodes in flight are
dropped, their temporary files removed, the finished ones written and ``summary.json`` written. ``close`` holds
further signals until it is done. ``interrupt_exit_status`` is the exit status a command then returns: 128 + the
signal number (130 for SIGINT, 143 for SIGTERM), as a shell reports a process the signal killed.
A caller that ends an episode the env has not (a person at the teleoperation page) writes it with ``end_episode``.

Long because the stop handling, the batch-wide history and the episode files share one lock-free bookkeeping of
what is running; split, each half would have to know the other's invariants.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embodia.envs.core.rendering import RENDER_PRESETS, SimRenderer
from embodia.envs.record.atomic import atomic_write, folder_sync_once, write_json
from embodia.envs.record.episode import Episode, episode_metadata, flatten_info, recording_versions
from embodia.envs.record.frames import draw_overlay, overlay_lines, tile
from embodia.envs.record.results import episode_result, summarize
from embodia.envs.record.video import VideoWriter, write_gif

RUN_FORMAT = "embodia.run"
RUN_SCHEMA_VERSION = 1
#: files of a run folder; any of them present means the folder holds a run
RUN_FILE_PATTERNS = (
    "episode_*.npz",
    "episode_*.mp4",
    "episode_*.gif",
    "episode_*.json",
    "meta.json",
    "summary.json",
    "scene.xml",
)


# ---------------------------------------------------------------------------------------------- signals
#: the signals that stop a run cleanly
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal (SIGINT or SIGTERM), raised in the main thread as Ctrl-C raises
    ``KeyboardInterrupt``; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(signal.Signals(self.signum).name)


def signal_name(error: BaseException) -> str:
    """``SIGINT`` or ``SIGTERM``: which signal stopped the run (a plain ``KeyboardInterrupt`` is Ctrl-C)."""
    return signal.Signals(getattr(error, "signum", signal.SIGINT)).name


def interrupt_exit_status(error: BaseException) -> int:
    """128 + the signal's number: 130 for Ctrl-C (SIGINT), 143 for SIGTERM."""
    return 128 + int(getattr(error, "signum", signal.SIGINT))


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class _StopState:
    """Shared by ``stop_on_signals``' handler and the recorder's sections that must not be cut short."""

    depth = 0  # nesting of ``_uncut`` sections under way
    pending: int | None = None  # a signal that arrived in one, raised when the outermost ends
    raised = False  # ``Interrupted`` was raised: later signals are ignored while the run winds down


def _stop_handler(signum: int, frame: Any) -> None:
    if _StopState.raised:
        return
    if _StopState.depth > 0:
        _StopState.pending = signum
        return
    _StopState.raised = True
    raise Interrupted(signum)


_MAIN_THREAD = threading.main_thread().ident  # the only thread signal handlers interrupt


def _enter_uncut() -> None:
    """Begin a section a stop signal must not cut (in the main thread: the only one signal handlers interrupt)."""
    if threading.get_ident() == _MAIN_THREAD:
        _StopState.depth += 1


def _leave_uncut() -> None:
    """End an uncut section; the signal that arrived meanwhile (under ``stop_on_signals``) is raised now."""
    if threading.get_ident() != _MAIN_THREAD:
        return
    _StopState.depth -= 1
    if _StopState.depth == 0 and _StopState.pending is not None:
        signum, _StopState.pending = _StopState.pending, None
        _stop_handler(signum, None)


class _Uncut:
    """``uncut()``'s context manager: a plain class, as it wraps every recorded step."""

    def __enter__(self) -> None:
        _enter_uncut()

    def __exit__(self, *exc: object) -> None:
        _leave_uncut()


_UNCUT = _Uncut()


def uncut() -> _Uncut:
    """A block a stop signal must not cut (writing a file that must come out whole): the signal that arrives
    meanwhile is raised when the block ends."""
    return _UNCUT


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise ``Interrupted`` in the main thread, once: signals that follow
    while the run winds down (it waits for the episode files being written) are ignored, so the cleanup completes.
    A signal arriving while the recorder handles a reset or a step is raised when it has done so, so an episode is
    never half-ended (its video neither published nor dropped).

    A signal whose handler someone else has set (not Python's default) keeps it; nested blocks keep the outer
    one's. Outside the main thread (where Python delivers no signals) this does nothing.
    """
    if not _in_main_thread():
        yield
        return
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    previous = {}
    for signum in STOP_SIGNALS:
        current = signal.getsignal(signum)
        if current is defaults[signum]:
            previous[signum] = current
            signal.signal(signum, _stop_handler)
    if previous:  # the outermost block: a fresh start
        _StopState.raised, _StopState.pending = False, None
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the block (a cleanup that must not be cut short), then deliver the first one
    held to whatever handler was in place."""
    if not _in_main_thread():
        yield
        return
    held: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        if previous[signum] is not None:  # None: set outside Python, left alone
            signal.signal(signum, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        for signum, old in previous.items():
            if old is not None:
                signal.signal(signum, old)
        if held:
            signal.raise_signal(held[0])


def episode_stem(index: int) -> str:
    return f"episode_{index:04d}"


@dataclass(frozen=True)
class VideoOptions:
    """What the recorder renders per episode: cameras tiled side by side, with an optional figures overlay."""

    cameras: tuple[str, ...] = ("front",)
    size: tuple[int, int] = (480, 640)  # (height, width) of each camera's view
    preset: str = "quality"
    overlay: bool = True
    gif: bool = False  # also a GIF (every other frame), for sharing
    quality: int = 8  # imageio's ffmpeg quality, 0 to 10

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        object.__setattr__(self, "size", tuple(int(v) for v in self.size))
        if not self.cameras:
            raise ValueError("video needs at least one camera")
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"video size must be (height, width) with positive values, got {self.size}")
        if self.preset not in RENDER_PRESETS:
            raise ValueError(f"unknown render preset {self.preset!r}; valid: {', '.join(RENDER_PRESETS)}")


def prepare_record_dir(record_dir: Path, overwrite: bool) -> None:
    """Refuse a folder that already holds a run, unless ``overwrite``: then remove that run's files first."""
    if record_dir.exists() and not record_dir.is_dir():
        raise NotADirectoryError(f"{record_dir} is a file, not a folder; choose a folder to record into")
    existing = sorted({p for pattern in RUN_FILE_PATTERNS for p in record_dir.glob(pattern)})
    if existing and not overwrite:
        raise FileExistsError(
            f"{record_dir} already holds a recorded run ({existing[0].name}, ...); "
            "choose another folder or overwrite it (overwrite=True, --overwrite)"
        )
    for path in [*existing, *record_dir.glob(".episode_*"), *record_dir.glob(".summary.json.*")]:
        path.unlink(missing_ok=True)
    record_dir.mkdir(parents=True, exist_ok=True)


def per_sim_model(env: Any, sim_id: int) -> dict[str, np.ndarray]:
    """Model fields that hold per-simulation values (set at reset), for one simulation."""
    return {name: np.array(values[sim_id]) for name, values in env.sim.per_sim_model_fields().items()}


def _jsonable(value: Any) -> Any:
    """Dataclasses (configs, options) as dicts; tuples become lists when written."""
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def run_metadata(env: Any, env_id: str, env_kwargs: Mapping[str, Any], policy: str, **extra: Any) -> dict[str, Any]:
    """What ``meta.json`` says about a run: enough to reproduce it."""
    return {
        "format": RUN_FORMAT,
        "schema_version": RUN_SCHEMA_VERSION,
        "env_id": env_id,
        "env_kwargs": dict(env_kwargs),
        "config": _jsonable(env.config),
        "options": _jsonable(env.options),
        "policy": policy,
        "num_envs": env.num_sims,
        "control_hz": float(env.config.control_hz),
        "physics_timestep_s": float(env.model.opt.timestep),
        "substeps": env.sim.substeps,
        "versions": recording_versions(),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def write_run_files(
    env: Any,
    out_dir: Path,
    env_id: str,
    env_kwargs: Mapping[str, Any],
    policy: str,
    video: VideoOptions | None,
    run_info: Mapping[str, Any] | None,
) -> None:
    """A run's ``meta.json`` and ``scene.xml`` (the compiled scene, for viewers and debugging)."""
    meta = run_metadata(env, env_id, env_kwargs, policy, **dict(run_info or {}))
    if video is not None:
        meta["video"] = dataclasses.asdict(video)
    write_json(out_dir / "meta.json", meta, overwrite=True)
    with atomic_write(out_dir / "scene.xml", overwrite=True, suffix=".xml") as tmp:
        tmp.write_text(env.scene_xml())


class _Running:
    """A simulation's episode in progress: where it starts in the recorder's history, its metadata and video."""

    def __init__(
        self,
        index: int,
        start: int,
        metadata: dict[str, Any],
        model: dict[str, np.ndarray],
        task_state: dict[str, np.ndarray],
    ) -> None:
        self.index = index
        self.start = start
        self.metadata = metadata
        self.model = model
        self.task_state = task_state
        self.video: VideoWriter | None = None
        self.gif_frames: list[np.ndarray] = []
        self.last_frame: np.ndarray | None = None  # the GIF keeps every other frame, and always the last one
        self.episode_return = 0.0
        self.steps = 0  # its own steps: rows of the history also hold other simulations' resets


class EpisodeRecorder:
    """Writes each episode of each simulation of ``env`` to ``out_dir`` as it ends.

    ``env_id`` and ``env_kwargs`` are what remakes the env (replay reads them); ``policy`` names what acted.
    Attach with the constructor, detach with ``close()`` (or use ``with``). ``listen=False``: the caller hands
    it every reset and step itself (``on_reset``, ``on_step``), with fields of its own added to ``info`` (the
    operator's inputs of a teleoperated episode); they are stored as ``info/`` columns like the env's.
    ``frames``: where the video's frames come from instead of the recorder's own renderer, ``frames(sim_id)``
    the image of the state just recorded (teleoperation records the view the operator saw, rendered once).
    ``share_of_run=seed``: this recorder writes a share of a run spread over workers (``agents/distributed.py``):
    an episode is numbered by its seed (a run seeds episode k with ``seed + k``), so every share writes its
    episodes under the numbers the whole run gives them, into the run's folder, and nothing else: the run's
    driver writes ``meta.json``, ``scene.xml`` and ``summary.json``.
    """

    def __init__(
        self,
        env: Any,
        out_dir: str | Path,
        env_id: str,
        env_kwargs: Mapping[str, Any] | None = None,
        policy: str = "unknown",
        video: VideoOptions | None = None,
        overwrite: bool = False,
        run_info: Mapping[str, Any] | None = None,
        listen: bool = True,
        frames: Callable[[int], np.ndarray] | None = None,
        share_of_run: int | None = None,
    ) -> None:
        self.env = env
        self.out_dir = Path(out_dir)
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.policy = policy
        self.video = video
        self.frames = frames
        self.share_of_run = share_of_run
        self.overwrite = overwrite
        self.results: list[dict[str, Any]] = []
        self.discarded = 0
        self._history: list[dict[str, np.ndarray]] = []  # one entry per reset or step of the batch
        self._offset = 0  # history index of self._history[0]
        self._running: dict[int, _Running] = {}
        self._slot_seeds: dict[int, int | None] = {}
        self._slot_episode_count: dict[int, int] = {}
        self._next_index = 0
        self._renderer: SimRenderer | None = None
        self._closed = False
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embodia-recorder")
        self._writes: list[Future] = []
        if video is not None:
            cameras = [env.model.camera(i).name for i in range(env.model.ncam)]
            unknown = [c for c in video.cameras if c not in cameras]
            if unknown:
                raise ValueError(f"unknown camera {unknown[0]!r}; valid: {', '.join(cameras)}")
        if share_of_run is None:
            prepare_record_dir(self.out_dir, overwrite)
            write_run_files(env, self.out_dir, env_id, self.env_kwargs, policy, video, run_info)
        else:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        if listen:
            env.listeners.append(self)

    # ------------------------------------------------------------------------------ listener
    def on_reset(self, ids: np.ndarray, seeds: list[int] | None, obs: Any, info: Mapping[str, Any]) -> None:
        with uncut():  # a stop signal waits until the episodes' state is consistent (see stop_on_signals)
            self._on_reset(ids, seeds, obs, info)

    def on_step(
        self,
        action: np.ndarray,
        obs: Any,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        info: Mapping[str, Any],
    ) -> None:
        with uncut():
            self._on_step(action, obs, reward, terminated, truncated, info)

    def _on_reset(self, ids: np.ndarray, seeds: list[int] | None, obs: Any, info: Mapping[str, Any]) -> None:
        for sim_id in ids:
            if int(sim_id) in self._running:  # reset before its end: the episode is incomplete
                self._drop(int(sim_id))
        self._history.append(self._row(obs, info))
        position = self._offset + len(self._history) - 1
        for k, sim_id in enumerate(int(i) for i in ids):
            if seeds is not None and seeds[k] is not None:
                self._slot_seeds[sim_id] = int(seeds[k])
                self._slot_episode_count[sim_id] = 0
            count = self._slot_episode_count.get(sim_id, 0)
            self._slot_episode_count[sim_id] = count + 1
            seed = self._slot_seeds.get(sim_id) if count == 0 else None
            if self.share_of_run is not None and seed is not None:
                index = seed - self.share_of_run
            else:
                index = self._next_index
                self._next_index += 1
            metadata = episode_metadata(
                self.env_id,
                self.env_kwargs,
                seed,
                self.policy,
                self.env.config.control_hz,
                episode=index,
                # an autoreset episode continues its simulation's random stream: seed None, this says from where
                slot_seed=self._slot_seeds.get(sim_id),
                episode_in_slot=count,
                physics_timestep_s=float(self.env.model.opt.timestep),
                substeps=self.env.sim.substeps,
                instruction=str(self.env.instructions[sim_id]),
            )
            model = per_sim_model(self.env, sim_id)
            running = _Running(index, position, metadata, model, self.env.task.episode_state(sim_id))
            self._running[sim_id] = running
            if self.video is not None:
                running.video = VideoWriter(
                    self.out_dir / f"{episode_stem(index)}.mp4",
                    fps=self.env.config.control_hz,
                    quality=self.video.quality,
                    overwrite=self.overwrite,
                )
                self._add_frame(running, sim_id, 0, None)

    def _on_step(
        self,
        action: np.ndarray,
        obs: Any,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        info: Mapping[str, Any],
    ) -> None:
        row = self._row(obs, info)
        row["actions"] = np.array(action, dtype=np.float64)
        row["rewards"] = np.array(reward, dtype=np.float64)
        row["terminated"] = np.array(terminated, dtype=bool)
        row["truncated"] = np.array(truncated, dtype=bool)
        self._history.append(row)
        ended = not self._running  # nothing running: the history keeps only its last row
        for sim_id, running in list(self._running.items()):
            running.episode_return += float(reward[sim_id])
            running.steps += 1
            if running.video is not None:
                self._add_frame(running, sim_id, running.steps, float(reward[sim_id]))
            if terminated[sim_id] or truncated[sim_id]:
                self._finish(sim_id)
                ended = True
        if ended:  # the oldest running episode's start moves only when one ends
            self._trim()

    def end_episode(self, sim_id: int, **metadata: Any) -> dict[str, Any] | None:
        """Write the episode running in ``sim_id`` as it stands, though the env has not ended it: a person stopped
        it or left (teleoperation). ``metadata`` goes into the file's metadata and says why. Returns the episode's
        result; None when nothing is running there or it has no step yet (nothing to keep)."""
        with uncut():
            running = self._running.get(sim_id)
            if running is None:
                return None
            if not any("actions" in row for row in self._history[running.start - self._offset + 1 :]):
                self._drop(sim_id)
                return None
            running.metadata.update(metadata)
            self._finish(sim_id)
            return self.results[-1]

    # ------------------------------------------------------------------------------ pieces
    def _row(self, obs: Any, info: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """One reset or step of the whole batch, as copies (the env reuses nothing, but callers may)."""
        if isinstance(obs, Mapping):  # the instruction entry is the episode's, in its metadata
            row = {f"obs/{k}": np.array(v) for k, v in obs.items() if k != "instruction"}
        else:
            row = {"obs/flat": np.array(obs)}
        row.update(flatten_info(info, "info/"))
        row["mj_state"] = self.env.sim.states()
        return row

    def _add_frame(self, running: _Running, sim_id: int, step: int, reward: float | None) -> None:
        """Render the simulation's frame for the row just stored; the overlay reads that row's flattened info."""
        assert self.video is not None
        if self.frames is not None:
            frame = self.frames(sim_id)
        else:
            if self._renderer is None:
                height, width = self.video.size
                self._renderer = SimRenderer(self.env.model, height, width, preset=self.video.preset)
            self._renderer.load(self.env.sim, sim_id)
            frame = tile([self._renderer.render(camera) for camera in self.video.cameras])
        if self.video.overlay:
            step_info = {k[5:]: v[sim_id] for k, v in self._history[-1].items() if k.startswith("info/")}
            success = bool(step_info.get("success", False))
            lines = overlay_lines(step, reward, success, step_info, running.episode_return)
            frame = draw_overlay(frame, lines)
        running.video.append(frame)
        if self.video.gif and step % 2 == 0:
            running.gif_frames.append(frame)
        running.last_frame = frame

    def _episode(self, sim_id: int, running: _Running) -> Episode:
        rows = self._history[running.start - self._offset :]
        first, steps = rows[0], rows[1:]
        steps = [r for r in steps if "actions" in r]  # other simulations' resets are not this episode's rows
        rows = [first, *steps]

        def column(name: str, source: list[dict[str, np.ndarray]]) -> np.ndarray:
            if self.env.num_sims == 1:  # the whole row is the simulation's: joined, no per-row indexing
                return np.concatenate([r[name] for r in source])
            return np.stack([r[name][sim_id] for r in source])

        obs_keys = [k for k in first if k.startswith("obs/")]
        info_keys = [k for k in first if k.startswith("info/")]
        length = len(steps)
        return Episode(
            observations={k[4:]: column(k, rows) for k in obs_keys},
            actions=column("actions", steps),
            rewards=column("rewards", steps),
            terminated=column("terminated", steps),
            truncated=column("truncated", steps),
            info={k[5:]: column(k, rows) for k in info_keys},
            mj_state=column("mj_state", rows),
            metadata={**running.metadata, "length": length},
            model=running.model,
            task_state=running.task_state,
        )

    def _finish(self, sim_id: int) -> None:
        running = self._running.pop(sim_id)
        episode = self._episode(sim_id, running)
        stem = episode_stem(running.index)
        result = episode_result(episode)
        if running.video is not None:
            running.video.close()
            result["video"] = f"{stem}.mp4"
        if running.gif_frames and running.gif_frames[-1] is not running.last_frame:
            running.gif_frames.append(running.last_frame)  # the episode's end (its success) shows in the GIF
        self.results.append(result)
        self._collect_writes(wait=False)
        self._writes.append(self._writer.submit(self._write, stem, result, episode, running.gif_frames))

    def _write(self, stem: str, result: dict[str, Any], episode: Episode, gif_frames: list[np.ndarray]) -> None:
        """The episode's files, on the writer thread: compression and fsync release the GIL, so the run goes on."""
        with folder_sync_once():
            if gif_frames:
                fps = self.env.config.control_hz / 2
                write_gif(self.out_dir / f"{stem}.gif", gif_frames, fps=fps, overwrite=self.overwrite)
            write_json(self.out_dir / f"{stem}.json", result, overwrite=self.overwrite)
            episode.save(self.out_dir / f"{stem}.npz", overwrite=self.overwrite)  # last: the episode is complete

    def _collect_writes(self, wait: bool) -> None:
        """Re-raise the error of a failed write (a full disk, a file in the way); ``wait`` for all of them."""
        pending = []
        for write in self._writes:
            if wait or write.done():
                write.result()
            else:
                pending.append(write)
        self._writes = pending

    def _drop(self, sim_id: int) -> None:
        running = self._running.pop(sim_id)
        if running.video is not None:
            running.video.abort()
        self.discarded += 1

    def _trim(self) -> None:
        """Forget history no running episode needs (keep the last row: a reset may refer to nothing older)."""
        oldest = min((r.start for r in self._running.values()), default=self._offset + len(self._history) - 1)
        drop = oldest - self._offset
        if drop > 0:
            del self._history[:drop]
            self._offset += drop

    # ------------------------------------------------------------------------------ end
    def close(self, summary: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Detach, drop the episodes still running (incomplete), and write ``summary.json``.

        SIGINT and SIGTERM arriving meanwhile are held until it is done, then delivered."""
        if self._closed:
            return {}
        with _signals_held():
            return self._close(summary)

    def _close(self, summary: Mapping[str, Any] | None) -> dict[str, Any]:
        self._closed = True
        if self in self.env.listeners:
            self.env.listeners.remove(self)
        for sim_id in list(self._running):
            self._drop(sim_id)
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        try:
            self._collect_writes(wait=True)
        finally:
            self._writer.shutdown(wait=True)
        results = sorted(self.results, key=lambda r: r["episode"])
        if self.share_of_run is not None:
            return {"per_episode": results, "incomplete_episodes_dropped": self.discarded}
        if summary is None:
            summary = summarize(results, env_id=self.env_id, policy=self.policy)
        summary = {**summary, "record_dir": str(self.out_dir), "incomplete_episodes_dropped": self.discarded}
        write_json(self.out_dir / "summary.json", summary, overwrite=True)
        return summary

    def __enter__(self) -> EpisodeRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
