"""Which task models compile and step under MuJoCo Warp on Warp's CPU device, and what blocks the rest.

    python3.11 -m venv /tmp/warpvenv
    /tmp/warpvenv/bin/pip install mujoco==4.0.1 mujoco-warp==4.0.0
    MUJOCO_GL=egl .venv/bin/python experiments/warp_survey.py --warp-python /tmp/warpvenv/bin/python
    MUJOCO_GL=egl .venv/bin/python experiments/warp_survey.py --warp-python /tmp/warpvenv/bin/python \\
        --tasks Reach NutBolt --steps 100 --timeout 1200

MuJoCo Warp (and NVIDIA Warp under it) lives in a separate virtual environment: this repo's venv never installs
it. The script runs in two roles. In this repo's venv it builds each task (``make_batched(env_id, 1)``), resets
episode ``--seed``, saves the model with that episode's per-simulation fields (masses, frictions, sizes) as MJB
and the state as ``mjSTATE_INTEGRATION`` (``.state.npy``), and summarizes what the model uses (sizes, geom and
sensor types, solver, integrator, cone, option flags). Then, per model, it starts a child process with
``--warp-python``: this same file with ``--worker MODEL.mjb``, which imports only mujoco, numpy, warp and
mujoco_warp. The child

1. loads that state and steps C MuJoCo (``mj_step``, float64) ``--steps`` times: the reference
   qpos, the largest contact and constraint counts (to size MJWarp's buffers) and C MuJoCo's ms/step; then
   again from the state rounded to float32 (what ``put_data`` stores): the "float32 floor", how far the
   same engine drifts from that rounding alone;
2. ``put_model`` (MJWarp's feature checks raise ``NotImplementedError`` here), ``put_data`` with one world
   and ``step`` from the same initial state: the first call compiles Warp's kernels (LLVM for the CPU
   device), timed apart from the steps after it; max |qpos - reference| after 1 and ``--steps`` steps
   (and qvel, sensordata in the JSON);
3. times ``--timing-steps`` steps with one world and with ``--nworld`` worlds (copies of the initial state).

Compile times depend on Warp's kernel cache (``--kernel-cache``, shared by every model: the first model pays
for the common kernels, the later ones mostly for what their model specializes). Delete the folder for a cold
run. Each child is pinned to one CPU and killed after ``--timeout`` seconds. The result is a markdown table on
stdout and, with ``--json``, every figure per model. Without the Warp interpreter the script says so and exits
0: nothing here is imported by the tests.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULT_MARK = "WARP_SURVEY_RESULT "
DEFAULT_MODELS_DIR = Path("/tmp/warp_models")
DEFAULT_CACHE = Path("/tmp/warp_kernel_cache")
#: the MJWarp overflow bits that say a result is wrong (solver iteration limits are not errors)
OVERFLOW_ERRORS = ("NEFC", "NJMAX_NNZ", "BROADPHASE", "NARROWPHASE", "CCD", "HFIELD", "CONTACT_MATCH", "NVMAX")


# ---------------------------------------------------------------------------------------------------------------
# Parent (this repo's venv): export the models, run one child per model, print the table.


def model_summary(model: Any) -> dict[str, Any]:
    """What of MuJoCo a compiled model uses: sizes, geom and sensor types, numerics and option flags."""
    import mujoco

    def names(enum: Any, values: Any) -> list[str]:
        return sorted({enum(int(v)).name.removeprefix("mj") for v in values})

    def flags(enum: Any, mask: int) -> list[str]:
        members = [(name, member) for name, member in enum.__members__.items() if not name.startswith("mjN")]
        return [name for name, member in members if int(member) and mask & int(member) == int(member)]

    return {
        "nbody": model.nbody,
        "ngeom": model.ngeom,
        "nq": model.nq,
        "nv": model.nv,
        "nu": model.nu,
        "neq": model.neq,
        "ntendon": model.ntendon,
        "nmesh": model.nmesh,
        "nflex": model.nflex,
        "nplugin": model.nplugin,
        "nsensor": model.nsensor,
        "sensor_types": names(mujoco.mjtSensor, model.sensor_type),
        "geom_types": names(mujoco.mjtGeom, model.geom_type),
        "eq_types": names(mujoco.mjtEq, model.eq_type),
        "solver": mujoco.mjtSolver(model.opt.solver).name,
        "integrator": mujoco.mjtIntegrator(model.opt.integrator).name,
        "cone": mujoco.mjtCone(model.opt.cone).name,
        "jacobian": mujoco.mjtJacobian(model.opt.jacobian).name,
        "timestep": float(model.opt.timestep),
        "disableflags": flags(mujoco.mjtDisableBit, int(model.opt.disableflags)),
        "enableflags": flags(mujoco.mjtEnableBit, int(model.opt.enableflags)),
    }


def export_models(env_ids: list[str], out_dir: Path, seed: int) -> dict[str, dict[str, Any]]:
    """Save each task's model and the state of its episode ``seed`` after reset (``NAME.mjb``,
    ``NAME.state.npy``); return each model's summary by name."""
    import mujoco
    import numpy as np

    import embodia  # noqa: F401  (registers the tasks; selects the OpenGL backend)
    from embodia.envs.core.batched_env import make_batched
    from embodia.envs.tasks.registry import short_name

    out_dir.mkdir(parents=True, exist_ok=True)
    summaries = {}
    for env_id in env_ids:
        env = make_batched(env_id, 1)
        name = short_name(env_id)
        env.reset(seeds=[seed])
        # the episode's model: the per-simulation fields the reset randomized, then the constants they derive
        model = copy.copy(env.model)
        per_sim = getattr(env.sim, "_expanded", {})
        for field, values in per_sim.items():
            getattr(model, field)[...] = values[0]
        if per_sim:
            mujoco.mj_setConst(model, mujoco.MjData(model))
        mujoco.mj_saveModel(model, str(out_dir / f"{name}.mjb"))
        np.save(out_dir / f"{name}.state.npy", env.sim.state(0))
        summaries[name] = model_summary(model) | {"per_sim_fields": sorted(per_sim)}
        close = getattr(env, "close", None)
        if callable(close):
            close()
    (out_dir / "summaries.json").write_text(json.dumps(summaries, indent=1))
    return summaries


def run_child(args: argparse.Namespace, mjb: Path) -> dict[str, Any]:
    """One model in the Warp venv; the child's result, or why there is none (timeout, crash)."""
    cmd = [
        str(args.warp_python),
        str(Path(__file__).resolve()),
        "--worker",
        str(mjb),
        "--steps",
        str(args.steps),
        "--timing-steps",
        str(args.timing_steps),
        "--nworld",
        str(args.nworld),
        "--kernel-cache",
        str(args.kernel_cache),
        "--cpu",
        str(args.cpu),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env, check=False)
    except subprocess.TimeoutExpired as error:
        out = error.stdout.decode(errors="replace") if isinstance(error.stdout, bytes) else error.stdout or ""
        return {"compiles": None, "steps": None, "blocker": f"timeout after {args.timeout} s", "log_tail": out[-2000:]}
    result: dict[str, Any] = {}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK) :])
    if not result:
        tail = (proc.stdout + proc.stderr)[-2000:]
        result = {"compiles": None, "steps": None, "blocker": f"child exited {proc.returncode}", "log_tail": tail}
    # Warp's device printf (e.g. an SDF plugin without a Warp implementation, buffer overflows) goes to stdout
    printed = [
        line
        for line in proc.stdout.splitlines()
        if re.search(r"ERROR|overflow", line) and not line.startswith(("Module ", RESULT_MARK))
    ]
    result["kernel_messages"] = sorted(set(printed))[:10]
    result["wall_s"] = time.perf_counter() - start
    return result


def yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def number(value: float | None, digits: int = 2, scientific: bool = False) -> str:
    if value is None:
        return "-"
    if scientific or (value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e4)):
        return f"{value:.{digits}e}"
    return f"{value:.{digits}f}"


def table(results: dict[str, dict[str, Any]], steps: int, nworld: int) -> str:
    head = (
        f"| task | compiles | steps | blocker | max \\|qpos diff\\| after {steps} steps "
        f"| CPU-device ms/step nworld=1 | nworld={nworld} | compile s | C MuJoCo µs/step "
        f"| diff after 1 step | float32 floor | notes |"
    )
    rows = [head, "|" + " --- |" * 12]
    for name, r in results.items():
        notes = list(r.get("notes", [])) + list(r.get("kernel_messages", []))[:2]
        mujoco_ms = r.get("mujoco_ms_per_step")
        rows.append(
            f"| {name} | {yes_no(r.get('compiles'))} | {yes_no(r.get('steps'))} | {r.get('blocker') or '-'} "
            f"| {number(r.get('max_qpos_diff'), scientific=True)} | {number(r.get('ms_per_step_1'))} "
            f"| {number(r.get('ms_per_step_n'))} | {number(r.get('compile_s'), 1)} "
            f"| {number(None if mujoco_ms is None else 1e3 * mujoco_ms, 1)} "
            f"| {number(r.get('max_qpos_diff_1'), scientific=True)} "
            f"| {number(r.get('float32_floor_qpos_diff'), scientific=True)} | {'; '.join(notes) or '-'} |"
        )
    return "\n".join(rows)


def parent(args: argparse.Namespace) -> int:
    warp_python = Path(args.warp_python)
    if not (warp_python.is_file() and os.access(warp_python, os.X_OK)):
        print(
            f"warp_survey: skipped: no Warp interpreter at {warp_python}. Make one with\n"
            f"  python3.11 -m venv /tmp/warpvenv && /tmp/warpvenv/bin/pip install mujoco==4.0.1 mujoco-warp==4.0.0\n"
            f"and pass --warp-python /tmp/warpvenv/bin/python."
        )
        return 0
    probe = subprocess.run(
        [str(warp_python), "-c", "import mujoco, warp, mujoco_warp; print(mujoco.__version__, warp.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        print(f"warp_survey: skipped: {warp_python} cannot import mujoco, warp and mujoco_warp:\n{probe.stderr[-800:]}")
        return 0
    print(f"warp_survey: mujoco, warp in the Warp venv: {probe.stdout.strip()}", file=sys.stderr)

    from embodia.envs.tasks.registry import TASKS, short_name

    env_ids = [env_id for env_id in TASKS if not args.tasks or short_name(env_id) in args.tasks]
    unknown = set(args.tasks or ()) - {short_name(env_id) for env_id in TASKS}
    if unknown:
        raise SystemExit(f"unknown tasks {sorted(unknown)}; known: {[short_name(e) for e in TASKS]}")
    summaries = export_models(env_ids, Path(args.models_dir), args.seed)
    results: dict[str, dict[str, Any]] = {}
    survey_start = time.perf_counter()
    for env_id in env_ids:
        name = short_name(env_id)
        print(f"warp_survey: {name} ...", file=sys.stderr, flush=True)
        results[name] = run_child(args, Path(args.models_dir) / f"{name}.mjb")
        print(f"warp_survey: {name}: {json.dumps(results[name])}", file=sys.stderr, flush=True)
    print(table(results, args.steps, args.nworld))
    print(f"\n(survey wall time {time.perf_counter() - survey_start:.0f} s)")
    if args.json:
        payload = {"summaries": summaries, "results": results, "args": {k: str(v) for k, v in vars(args).items()}}
        Path(args.json).write_text(json.dumps(payload, indent=1))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# Child (the Warp venv): one model.


def worker(args: argparse.Namespace) -> dict[str, Any]:
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    import mujoco
    import numpy as np
    import warp as wp

    wp.config.kernel_cache_dir = str(args.kernel_cache)
    wp.config.quiet = True
    import mujoco_warp as mjw

    result: dict[str, Any] = {"compiles": False, "steps": False, "blocker": None, "notes": []}
    mjm = mujoco.MjModel.from_binary_path(str(args.worker))
    mjd = mujoco.MjData(mjm)
    state_path = Path(args.worker).with_suffix(".state.npy")
    home = mujoco.mj_name2id(mjm, mujoco.mjtObj.mjOBJ_KEY, "home")
    if home >= 0:
        mujoco.mj_resetDataKeyframe(mjm, mjd, home)
    if state_path.exists():  # the episode's reset state (qpos, qvel, ctrl, mocap, ...)
        mujoco.mj_setState(mjm, mjd, np.load(state_path), mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(mjm, mjd)

    # the float64 reference, and the buffer sizes the run needs
    ref = mujoco.MjData(mjm)
    mujoco.mj_copyData(ref, mjm, mjd)
    max_ncon, max_nefc = mjd.ncon, mjd.nefc
    ref_qpos_1 = None
    start = time.perf_counter()
    for _ in range(args.steps):
        mujoco.mj_step(mjm, ref)
        max_ncon, max_nefc = max(max_ncon, ref.ncon), max(max_nefc, ref.nefc)
        if ref_qpos_1 is None:
            ref_qpos_1 = ref.qpos.copy()
    result["mujoco_ms_per_step"] = 1e3 * (time.perf_counter() - start) / args.steps
    # the noise floor: C MuJoCo itself from the initial state rounded to float32 (as put_data stores it)
    rounded = mujoco.MjData(mjm)
    mujoco.mj_copyData(rounded, mjm, mjd)
    for field in ("qpos", "qvel", "act", "ctrl", "mocap_pos", "mocap_quat", "qacc_warmstart"):
        values = getattr(rounded, field)
        values[...] = values.astype(np.float32)
    for _ in range(args.steps):
        mujoco.mj_step(mjm, rounded)
    result["float32_floor_qpos_diff"] = float(np.max(np.abs(rounded.qpos - ref.qpos)))
    result["max_ncon"], result["max_nefc"] = int(max_ncon), int(max_nefc)
    nconmax = max(64, 2 * max_ncon)
    njmax = max(128, 2 * max_nefc)
    result["nconmax"], result["njmax"] = nconmax, njmax

    def data(nworld: int) -> Any:
        return mjw.put_data(mjm, mjd, nworld=nworld, nconmax=nconmax, njmax=njmax)

    def overflow_names(d: Any) -> list[str]:
        bits = int(np.bitwise_or.reduce(d.overflow.numpy()))
        return [name for name in OVERFLOW_ERRORS if bits & int(mjw.OverflowType[name])]

    with wp.ScopedDevice("cpu"):
        stage = "put_model"
        try:
            m = mjw.put_model(mjm)
            m.opt.warn_overflow = int(mjw.OverflowType.ALL) & ~int(
                mjw.OverflowType.ITERATIONS | mjw.OverflowType.LS_ITERATIONS
            )
            stage = "put_data"
            d = data(1)
            stage = "first step (kernel compile)"
            start = time.perf_counter()
            mjw.step(m, d)
            wp.synchronize()
            result["compile_s"] = time.perf_counter() - start
            result["compiles"] = True
            result["max_qpos_diff_1"] = float(np.max(np.abs(d.qpos.numpy()[0] - ref_qpos_1)))
            stage = "step"
            start = time.perf_counter()
            for _ in range(args.steps - 1):
                mjw.step(m, d)
            wp.synchronize()
            qpos = d.qpos.numpy()[0]
            result["steps"] = bool(np.isfinite(qpos).all())
            if not result["steps"]:
                result["blocker"] = "non-finite qpos"
            result["max_qpos_diff"] = float(np.max(np.abs(qpos - ref.qpos)))
            result["max_qvel_diff"] = float(np.max(np.abs(d.qvel.numpy()[0] - ref.qvel)))
            if mjm.nsensordata:
                result["max_sensordata_diff"] = float(np.max(np.abs(d.sensordata.numpy()[0] - ref.sensordata)))
            result["nacon_last"] = int(d.nacon.numpy()[0])
            result["ncon_ref_last"] = int(ref.ncon)
            overflow = overflow_names(d)
            if overflow:
                result["notes"].append("overflow " + ",".join(overflow))

            stage = "timing nworld=1"
            start = time.perf_counter()
            for _ in range(args.timing_steps):
                mjw.step(m, d)
            wp.synchronize()
            result["ms_per_step_1"] = 1e3 * (time.perf_counter() - start) / args.timing_steps

            stage = f"timing nworld={args.nworld}"
            dn = data(args.nworld)
            start = time.perf_counter()
            mjw.step(m, dn)
            wp.synchronize()
            result["first_step_n_s"] = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(args.timing_steps):
                mjw.step(m, dn)
            wp.synchronize()
            result["ms_per_step_n"] = 1e3 * (time.perf_counter() - start) / args.timing_steps
            qpos_n = dn.qpos.numpy()
            if not np.isfinite(qpos_n).all():
                result["notes"].append(f"non-finite qpos with nworld={args.nworld}")
            overflow = overflow_names(dn)
            if overflow:
                result["notes"].append(f"overflow nworld={args.nworld} " + ",".join(overflow))
        except Exception as error:  # the point is to record what fails and where
            message = str(error).splitlines()[0] if str(error) else ""
            result["blocker"] = f"{stage}: {type(error).__name__}: {message}"[:300]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warp-python", default="/tmp/warpvenv/bin/python", help="python of the Warp venv")
    parser.add_argument("--tasks", nargs="*", help="short task names (BinPicking ...); default every task")
    parser.add_argument("--models-dir", default=str(DEFAULT_MODELS_DIR), help="where the MJB files go")
    parser.add_argument("--kernel-cache", default=str(DEFAULT_CACHE), help="Warp's kernel cache folder")
    parser.add_argument("--steps", type=int, default=100, help="steps compared with C MuJoCo")
    parser.add_argument("--timing-steps", type=int, default=20, help="steps timed per world count")
    parser.add_argument("--nworld", type=int, default=64, help="the batched world count timed")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per model")
    parser.add_argument("--cpu", type=int, default=0, help="the CPU each child is pinned to (-1: no pinning)")
    parser.add_argument("--seed", type=int, default=0, help="the episode whose reset state every run starts from")
    parser.add_argument("--json", help="write every figure here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # checked here, not by embodia's argparse types: the worker runs in the Warp venv, which has no embodia
    for name in ("steps", "timing_steps", "nworld"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be 1 or more, got {getattr(args, name)}")
    if args.seed < 0:
        parser.error(f"--seed is 0 or more, got {args.seed}")
    if args.worker:
        result = worker(args)
        print(RESULT_MARK + json.dumps(result), flush=True)
        return 0
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
