"""Teleoperation from a browser, used as a person would: Chromium (Playwright) presses the page's keys against the
real server and session; the recorded attempts then replay bit for bit and become a Minari dataset.

A scripted operator (``embodia.teleop.driver``) stands in for the person: it presses the keys nearest to the
task expert's actions. The guards (token, Host, one operator, malformed or flooding messages) are checked with
plain HTTP requests.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from browser_support import chromium
from process_support import sigint_as_in_a_terminal

from embodia.agents.evaluate import run_episodes
from embodia.agents.experts import make_expert
from embodia.envs.record.dataset import check_episode, load_minari, open_dataset, read_episode, validate
from embodia.envs.record.lerobot_export import export_lerobot
from embodia.envs.record.quality import demonstration_quality
from embodia.envs.record.recorder import episode_stem
from embodia.review.collect import episode_id
from embodia.review.site import build_site
from embodia.teleop.driver import KeyboardOperator, keys_for
from embodia.teleop.operator import OperatorInputError, parse_input
from embodia.teleop.server import STATUS_HEADER, TeleopServer
from embodia.teleop.session import TeleopOptions, TeleopSession

SMALL = TeleopOptions(size=(240, 320), end_hold_s=0.3)


@contextmanager
def teleop(tmp_path: Path, task: str = "embodia/Reach-v0", **env_kwargs) -> Iterator[tuple]:
    """A session and its server on a free port, on threads of this process; stopped (and the run closed) after."""
    log: list[str] = []
    session = TeleopSession(task, tmp_path / "run", SMALL, env_kwargs=env_kwargs)
    server = TeleopServer(session, 0, log=log.append)
    session.start()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield session, server, log
    finally:
        server.shutdown()
        server.server_close()
        session.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as launched:
        yield launched


@pytest.fixture()
def new_page(browser):
    contexts, errors = [], []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def wait_until(page, expression: str, timeout_s: float = 15.0):
    """Poll ``expression`` in the page (the page's CSP forbids the eval behind Playwright's wait_for_function)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        assert time.monotonic() < deadline, f"{expression} stayed false"
        time.sleep(0.05)


def recorded(session: TeleopSession) -> list[Path]:
    return sorted(session.recorder.out_dir.glob("episode_*.npz"))


def kept_file(session: TeleopSession, last: dict) -> Path:
    """The file of the attempt the page's ``last`` status describes (named by the recorder's episode number)."""
    return session.recorder.out_dir / f"{episode_stem(last['episode'])}.npz"


# ------------------------------------------------------------------------------------------- in the browser
def test_keys_bring_reach_to_success_and_the_attempts_replay_bit_for_bit_as_a_minari_dataset(
    tmp_path, new_page, monkeypatch
) -> None:
    with teleop(tmp_path) as (session, server, _):
        page = new_page()
        page.goto(server.url)
        operator = KeyboardOperator(page, session, make_expert("embodia/Reach-v0", 1))
        outcomes = [operator.run_episode()["last"] for _ in range(2)]
        assert [o["outcome"] for o in outcomes] == ["success", "success"], outcomes
        assert page.locator("#role").inner_text() == "You control the robot."
        latencies = page.evaluate("window.embodiaTeleop.latencies")
        assert len(latencies) >= 5 and 0 < np.median(latencies) < 1000
    files = recorded(session)  # the two successes, and the next attempt if it had begun when the session stopped
    assert len(files) in (2, 3) and all(read_episode(path).metadata["operator"] == "incomplete" for path in files[2:])
    episode = read_episode(files[0])
    assert episode.metadata["policy"] == "human" and episode.metadata["env_kwargs"] == {"control_mode": "ee_delta"}
    sources = episode.info["operator/source"][1:]
    assert (sources == 0).all()  # the keyboard
    held = np.abs(episode.info["operator/translation"][1:]).sum(axis=1) > 0
    assert held.mean() > 0.5  # keys were held for most steps
    av = pytest.importorskip("av")
    with av.open(str(files[0].with_suffix(".mp4"))) as video:  # the view the operator saw, one frame per state
        frames = [frame.to_ndarray(format="rgb24") for frame in video.decode(video=0)]
    assert len(frames) == episode.length + 1 and frames[0].shape == (240, 320, 3) and frames[-1].std() > 10
    dataset = open_dataset(session.recorder.out_dir)
    checked, replayed, problems = validate(dataset, replay_sample=3)
    assert (checked, replayed, problems) == (len(files), len(files), [])
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    # accepted on the review page (its review file), kept, made a Minari dataset: the commands a person runs
    review = {"format": "embodia.review", "schema_version": 1, "root": str(session.recorder.out_dir),
              "episodes": [{"path": path.name, "verdict": "accepted"} for path in files[:2]]}  # fmt: skip
    (tmp_path / "review.json").write_text(json.dumps(review))
    out = session.recorder.out_dir
    cli = [sys.executable, "-m", "embodia.cli", "dataset"]
    env = {**os.environ, "MINARI_DATASETS_PATH": str(tmp_path / "minari")}
    subprocess.run([*cli, "filter", str(out), "--review", str(tmp_path / "review.json"), "--out",
                    str(tmp_path / "accepted")], check=True, env=env, capture_output=True)  # fmt: skip
    subprocess.run([*cli, "export", str(tmp_path / "accepted"), "--format", "minari", "--out",
                    "embodia/reach/human-v0"], check=True, env=env, capture_output=True)  # fmt: skip
    minari = load_minari("embodia/reach/human-v0")
    assert minari.total_episodes == 2
    pytest.importorskip("pyarrow")
    lerobot = export_lerobot(files[:2], tmp_path / "lerobot", cameras=("work",), image_size=(48, 64))
    info = json.loads((lerobot / "meta" / "info.json").read_text())
    assert info["total_episodes"] == 2 and info["total_frames"] == sum(read_episode(f).length for f in files[:2])


def test_keys_grasp_and_lift_the_part_in_bin_picking_and_the_key_presses_show_in_its_quality(
    tmp_path, new_page
) -> None:
    with teleop(tmp_path, "embodia/BinPicking-v0") as (session, server, _):
        page = new_page()
        page.goto(server.url)
        operator = KeyboardOperator(page, session, make_expert("embodia/BinPicking-v0", 1))
        last = until_success(operator, timeout_s=90)
    path = kept_file(session, last)
    episode = read_episode(path)
    assert episode.info["grasped"].any()
    assert episode.info["lift_m"].max() > 0.03  # held 3 cm above where it lay
    assert check_episode(path, episode) == []
    # the expert on the same seed moves smoothly; keys give each axis all or nothing
    run_episodes("embodia/BinPicking-v0", episodes=1, seed=episode.metadata["seed"], record_dir=tmp_path / "expert",
                 progress=False, video=False, env_kwargs={"control_mode": "ee_delta"})  # fmt: skip
    expert = demonstration_quality(read_episode(tmp_path / "expert" / "episode_0000.npz"))
    by_keys = demonstration_quality(episode)
    assert by_keys["rms_jerk_m_s3"] > 1.5 * expert["rms_jerk_m_s3"], (by_keys, expert)
    assert expert["idle_fraction"] < 0.1 and 0.2 < by_keys["path_length_m"] / expert["path_length_m"] < 5


def until_success(operator: KeyboardOperator, tries: int = 3, watch=None, timeout_s: float = 60.0) -> dict:
    """The last status of the first attempt that succeeds, within ``tries`` attempts.

    The session steps at the control rate whatever the operator does, as it would for a person; on a loaded
    machine the scripted operator falls a frame or two behind (it then holds each key longer) and may knock the
    bottle over, as a person with a lagging view would. The page's behaviour is what these tests check, so a
    failed attempt is followed by the next one (as a person would try again), and all outcomes are reported.
    """
    outcomes = []
    for _ in range(tries):
        last = operator.run_episode(timeout_s=timeout_s, watch=watch)["last"]
        outcomes.append(last)
        if last["outcome"] == "success":
            return last
    pytest.fail(f"no attempt succeeded in {tries}: {outcomes}")


def test_the_page_shows_the_forces_on_the_person_and_warns_when_the_robot_is_near(tmp_path, new_page) -> None:
    with teleop(tmp_path, "embodia/Handover-v0") as (session, server, _):
        page = new_page()
        page.goto(server.url)
        operator = KeyboardOperator(page, session, make_expert("embodia/Handover-v0", 1))
        shown: dict[int, list] = {}  # per attempt: (nearest distance, whether the banner warned) at each frame

        def watch(status: dict) -> None:
            warned = "NEAR THE PERSON" in page.locator("#banner").inner_text()
            shown.setdefault(status["episode"], []).append((status["safety"]["nearest_distance_m"], warned))

        last = until_success(operator, watch=watch)
        assert page.locator("#safety").is_visible()
        assert page.locator("#force").inner_text().endswith(" N") or "N (" in page.locator("#force").inner_text()
    nearest = min(distance for distance, _ in shown[last["episode"]])
    warned = any(warned for _, warned in shown[last["episode"]])
    assert nearest < 0.10 and warned  # the bottle was handed to her: the page said the robot was close
    episode = read_episode(kept_file(session, last))
    assert np.isclose(episode.info["safety/nearest_distance_m"].min(), nearest, atol=1e-3)


FAKE_GAMEPAD = """
window.fakePad = { id: "embodia test pad (STANDARD GAMEPAD)", index: 0, connected: true, mapping: "standard",
  axes: [0, 0, 0, 0], buttons: Array.from({ length: 17 }, () => ({ pressed: false, value: 0 })), timestamp: 0 };
navigator.getGamepads = () => [window.fakePad];
"""


def test_a_gamepad_moves_the_robot_and_closes_the_gripper(tmp_path, new_page) -> None:
    with teleop(tmp_path, episode_steps=400) as (session, server, _):
        page = new_page()
        page.add_init_script(FAKE_GAMEPAD)
        page.goto(server.url)
        wait_until(page, "window.embodiaTeleop.status && window.embodiaTeleop.status.running")
        start = session.snapshot[1]["state"]["tcp_pos"][0].copy()
        page.evaluate("window.fakePad.axes[1] = -1")  # left stick pushed up: forward (+x)
        wait_until(page, "window.embodiaTeleop.status.step > 25")
        page.evaluate("window.fakePad.axes[1] = 0; window.fakePad.buttons[0] = { pressed: true, value: 1 }")
        wait_until(page, "window.embodiaTeleop.status.gripper_width_mm < 10")
        assert "test pad" in page.locator("#gamepad").inner_text()
        moved = session.snapshot[1]["state"]["tcp_pos"][0] - start
        assert moved[0] > 0.05 and abs(moved[1]) < 0.02, moved
        page.locator("button[data-action=save]").click()
        wait_until(page, "window.embodiaTeleop.status.last.outcome === 'saved'")
    episode = read_episode(recorded(session)[0])
    assert episode.metadata["operator"] == "saved"
    assert (episode.info["operator/source"][1:] == 1).any()  # the gamepad
    assert episode.info["operator/gripper_closed"][-1]
    # the review page shows how the attempt ended and how it was performed
    site = build_site(tmp_path / "run", tmp_path / "review")
    page = new_page()
    page.goto((site.out / "episode.html").as_uri() + "?id=" + episode_id("episode_0000.npz"))
    page.wait_for_selector("body[data-ready=true]")
    facts = page.locator("table.facts").inner_text()
    assert "operator\tsaved" in facts and "path\t" in facts and "jerk\t" in facts and "idle\t" in facts
    quality = demonstration_quality(episode)
    assert quality["idle_s"] > 0 and quality["path_length_m"] > 0.05  # it waited before the stick was pushed


def test_on_screen_buttons_move_the_robot_while_held(tmp_path, new_page) -> None:
    with teleop(tmp_path, episode_steps=400) as (session, server, _):
        page = new_page()
        page.goto(server.url)
        wait_until(page, "window.embodiaTeleop.status && window.embodiaTeleop.status.running")
        up = page.locator("button[data-hold='tz+']")
        for _ in range(5):  # the status lines above may still move the buttons between aiming and pressing
            up.hover()
            page.mouse.down()
            if "held" in (up.get_attribute("class") or ""):
                break
            page.mouse.up()
        pressed = page.evaluate("window.embodiaTeleop.status.step")
        wait_until(page, f"window.embodiaTeleop.status.step > {pressed + 12}")  # 8 cm up: within easy reach
        page.mouse.up()
        released = page.evaluate("window.embodiaTeleop.status.step")
        wait_until(page, f"window.embodiaTeleop.status.step > {released + 15}")
    # judged on the recorded steps, not on wall-clock snapshots: a loaded machine changes when, not what
    episode = read_episode(recorded(session)[0])
    source, lift = episode.info["operator/source"][1:], episode.info["operator/translation"][1:, 2]
    held = np.flatnonzero((source == 2) & (lift > 0))  # steps driven by the up button
    assert len(held) >= 10, f"the up button drove {len(held)} steps"
    tcp_z = episode.observations["robot_tcp_pos"][:, 2]  # row k: the state before action k
    assert tcp_z[held[-1] + 1] - tcp_z[held[0]] > 0.04  # moved up while held
    after = tcp_z[held[-1] + 3 : held[-1] + 13]  # released: it stops (the servo settles within two steps)
    assert len(after) == 10 and np.ptp(after) < 0.001  # and holds: the pull towards home does not move the TCP


def test_the_page_says_when_the_simulation_cannot_keep_the_control_rate(tmp_path, new_page, monkeypatch) -> None:
    with teleop(tmp_path, episode_steps=400) as (session, server, _):
        step = session.env.step

        def slow_step(action):  # a step that takes longer than the 50 ms control period
            time.sleep(0.08)
            return step(action)

        monkeypatch.setattr(session.env, "step", slow_step)
        page = new_page()
        page.goto(server.url)
        wait_until(page, "window.embodiaTeleop.status && window.embodiaTeleop.status.step > 15")
        warning = page.locator("#realtime")
        assert warning.is_visible() and "cannot keep the 20 Hz control rate" in warning.inner_text()
        assert session.snapshot is not None and page.evaluate("window.embodiaTeleop.status.realtime") < 0.75


def test_a_second_tab_watches_and_takes_over_when_the_first_is_closed(tmp_path, new_page) -> None:
    with teleop(tmp_path, episode_steps=2000) as (session, server, _):
        first, second = new_page(), new_page()
        first.goto(server.url)
        wait_until(first, "window.embodiaTeleop.status && window.embodiaTeleop.status.step > 3")
        second.goto(server.url)
        wait_until(second, "window.embodiaTeleop.role === 'watching'")
        assert "another tab controls" in second.locator("#role").inner_text()
        assert second.locator("#claim").is_disabled()
        second.keyboard.down("KeyW")
        wait_until(second, "window.embodiaTeleop.role === 'watching' && window.embodiaTeleop.seq > 0")
        time.sleep(0.3)
        second.keyboard.up("KeyW")
        first.close(run_before_unload=True)  # the tab's pagehide tells the server it left
        wait_until(second, "window.embodiaTeleop.role === 'free'", timeout_s=10)
        second.locator("#claim").click()
        wait_until(second, "window.embodiaTeleop.role === 'operator'")
        wait_until(second, "window.embodiaTeleop.status.episode === 1")
    first_attempt = read_episode(recorded(session)[0])
    assert first_attempt.metadata["operator"] == "incomplete" and "left" in first_attempt.metadata["ended_by"]
    assert not first_attempt.terminated[-1] and not first_attempt.truncated[-1]
    assert (first_attempt.info["operator/translation"] == 0).all()  # the watching tab never moved it


# ------------------------------------------------------------------------------------------- guards over HTTP
def request(server, method: str, path: str, body=None, headers=None) -> tuple[int, bytes, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    sent = {"Host": f"127.0.0.1:{server.port}", "X-Embodia-Token": server.token, **(headers or {})}
    sent = {k: v for k, v in sent.items() if v is not None}
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    connection.request(method, path, body=data, headers=sent)
    response = connection.getresponse()
    result = response.status, response.read(), dict(response.getheaders())
    connection.close()
    return result


CLIENT = "tab-0123456789"


def test_nothing_is_served_without_the_token_or_from_another_host_or_site(tmp_path) -> None:
    with teleop(tmp_path) as (_, server, _):
        for path in ("/", "/static/teleop.js", f"/frame?after=0&client={CLIENT}"):
            assert request(server, "GET", path, headers={"X-Embodia-Token": None})[0] == 403
            assert request(server, "GET", path, headers={"X-Embodia-Token": "wrong"})[0] == 403
            assert request(server, "GET", path, headers={"Host": "evil.example:80"})[0] == 403
            assert request(server, "GET", path, headers={"Sec-Fetch-Site": "cross-site"})[0] == 403
        status, body, headers = request(server, "GET", f"/?token={server.token}", headers={"X-Embodia-Token": None})
        assert status == 200 and b"embodia teleop" in body
        assert f"embodia_teleop={server.token}" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
        cookie = {"Cookie": f"embodia_teleop={server.token}", "X-Embodia-Token": None}
        assert request(server, "GET", "/static/teleop.js", headers=cookie)[0] == 200
        assert request(server, "GET", "/static/../session.py", headers=cookie)[0] == 404


def test_malformed_and_flooding_control_messages_are_refused_with_one_line_each(tmp_path) -> None:
    with teleop(tmp_path) as (session, server, log):
        status, body, _ = request(server, "POST", "/command", {"client": CLIENT, "command": "claim"})
        assert status == 200 and json.loads(body)["operator"] is True
        bad = [
            ({"client": CLIENT, "seq": 1, "translation": [2, 0, 0]}, "translation holds 2"),
            ({"client": CLIENT, "seq": 1, "speed": 0}, "speed=0"),
            ({"client": CLIENT, "seq": -1}, "seq=-1"),
            ({"client": CLIENT, "seq": 1, "gripper": "half"}, "gripper='half'"),
            ({"client": CLIENT, "seq": 1, "teleport": True}, "unknown field 'teleport'"),
            ({"client": "x", "seq": 1}, "client='x'"),
            (b'{"client": "tab-0123456789", "seq": NaN}', "JSON"),
            (b"[1, 2]", "JSON object"),
            (b"\xff\xfe", "JSON"),
        ]
        for message, reason in bad:
            status, body, _ = request(server, "POST", "/control", message)
            assert status == 400 and reason in body.decode(), (message, body)
        assert len(log) == len(bad) and all("control" in line or "client=" in line for line in log)
        status, body, _ = request(server, "POST", "/control", b"x" * 5000)
        assert status == 413 and "at most 1024" in body.decode()
        assert request(server, "POST", "/command", {"client": CLIENT, "command": "fly"})[0] == 400
        log.clear()
        answers = [request(server, "POST", "/control", {"client": CLIENT, "seq": k})[0] for k in range(200)]
        assert answers.count(204) >= 60 and answers.count(429) > 0
        assert 1 <= len(log) <= 3 and "dropped" in log[0]  # one line a second, not one per message
        other = {"client": "tab-other-tab-1", "seq": 5, "translation": [1, 0, 0]}
        assert request(server, "POST", "/control", other)[0] == 409
        assert session._input.translation == (0.0, 0.0, 0.0)


def test_operator_input_errors_name_the_field_and_what_is_valid() -> None:
    with pytest.raises(OperatorInputError, match=r"rotation holds inf.*valid: three numbers in \[-1, 1\]"):
        parse_input({"seq": 0, "rotation": [0, float("inf"), 0]})
    with pytest.raises(OperatorInputError, match=r"source='mouse'; valid: keyboard, gamepad, buttons"):
        parse_input({"seq": 0, "source": "mouse"})
    with pytest.raises(OperatorInputError, match=r"seq=True"):
        parse_input({"seq": True})
    operator_input = parse_input({"seq": 3, "translation": [1, 0, -1], "gripper": "closed", "speed": 0.25})
    action = operator_input.action(slice(0, 6), slice(6, 7), 7)
    np.testing.assert_array_equal(action, [0.25, 0, -0.25, 0, 0, 0, -1])
    held, speed, closed = keys_for(np.array([0.2, -0.05, 0.0, 0, 0, 0.2, -1.0]))
    assert (held, speed, closed) == ({"KeyW", "KeyJ"}, 0.25, True)


# ------------------------------------------------------------------------------------------- the command
def start_cli(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "embodia.cli", "teleop", "embodia/Reach-v0", "--port", "0", "--size", "120x160",
         "--out", str(tmp_path / "run"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_as_in_a_terminal,
        env={**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")},
    )  # fmt: skip
    for line in process.stdout:
        match = re.search(r"open: (http://127\.0\.0\.1:(\d+)/\?token=(\S+))", line)
        if match:
            return process, match.group(1)
    raise AssertionError(f"no URL printed: {process.stderr.read()}")


def drive_over_http(url: str, episode: int, steps: int) -> None:
    """Take control and push forward until episode ``episode`` has run ``steps`` steps, as a page would."""
    port, token = re.search(r":(\d+)/\?token=(\S+)", url).groups()
    server = type("Server", (), {"port": int(port), "token": token})
    assert request(server, "POST", "/command", {"client": CLIENT, "command": "claim"})[0] == 200
    assert request(server, "POST", "/control", {"client": CLIENT, "seq": 1, "translation": [1, 0, 0]})[0] == 204
    frame = 0
    while True:
        status, _, headers = request(server, "GET", f"/frame?after={frame}&client={CLIENT}")
        assert status == 200
        figures = json.loads(headers[STATUS_HEADER])
        frame = figures["frame"]
        if figures["episode"] == episode and figures.get("step", 0) >= steps:
            return


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL])
def test_a_stopped_server_leaves_valid_episodes(tmp_path, stop) -> None:
    process, url = start_cli(tmp_path, "--episode-steps", "30")
    try:
        drive_over_http(url, 0, 30)  # the first attempt ends at its time limit
        drive_over_http(url, 1, 10)  # the second is in progress
        process.send_signal(stop)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    files = sorted((tmp_path / "run").glob("episode_*.npz"))
    for path in files:
        assert check_episode(path, read_episode(path)) == []
    if stop == signal.SIGINT:
        assert process.returncode == 130 and "stopped" in err
        assert len(files) == 2 and read_episode(files[1]).metadata["operator"] == "incomplete"
        assert (tmp_path / "run" / "summary.json").exists()
    else:
        assert len(files) == 1 and read_episode(files[0]).length == 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["embodia/Nope-v0"], "unknown task 'embodia/Nope-v0'"),
        (["embodia/Reach-v0", "--port", "70000"], "--port must be 0..65535, got 70000"),
        (["embodia/Reach-v0", "--size", "8x8"], "size=8x8"),
        (["embodia/Reach-v0", "--episode-steps", "0"], "episode_steps=0 is out of range"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, args, message) -> None:
    result = subprocess.run([sys.executable, "-m", "embodia.cli", "teleop", *args, "--out", str(tmp_path / "r")],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
