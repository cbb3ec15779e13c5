// The teleoperation page: live frames from the server, the operator's keyboard, gamepad and buttons to it.
// Inputs are sent as whole states on every change (seq counts up), so the server always holds what is pressed.
// Latency: from the input event that changed the state to the first frame drawn whose status says the server
// applied that state (input_seq); kept in window.embodiaTeleop for scripts and tests.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const AXES = { tx: ["translation", 0], ty: ["translation", 1], tz: ["translation", 2],
                 rx: ["rotation", 0], ry: ["rotation", 1], rz: ["rotation", 2] };
  const KEY_HOLDS = { KeyW: "tx+", KeyS: "tx-", KeyA: "ty+", KeyD: "ty-", KeyR: "tz+", KeyF: "tz-",
                      KeyU: "rx+", KeyO: "rx-", KeyI: "ry+", KeyK: "ry-", KeyJ: "rz+", KeyL: "rz-" };
  const SPEEDS = [0.125, 0.25, 0.5, 1.0];
  const DEADZONE = 0.15;

  const randomId = () => Array.from(crypto.getRandomValues(new Uint8Array(12)),
                                    (b) => b.toString(16).padStart(2, "0")).join("");
  const state = {
    client: randomId(), seq: 0, held: new Set(), gripper: "open", speedIndex: 2, source: "keyboard",
    pad: { translation: [0, 0, 0], rotation: [0, 0, 0], buttons: [] }, lastSent: "",
    pending: [], latencies: [], frameTimes: [], status: null, role: "", frames: 0, errors: [],
  };
  window.embodiaTeleop = state;  // read by tests and by experiments/teleop_latency.py
  const canvas = $("frame");
  const context = canvas.getContext("2d");

  const post = (path, body) => fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ client: state.client, ...body }),
  });

  function showError(text) {
    $("error").textContent = text;
    $("error").classList.toggle("hidden", !text);
    if (text) state.errors.push(text);
  }

  // ------------------------------------------------------------------ inputs
  function inputState() {
    const out = { translation: [0, 0, 0], rotation: [0, 0, 0] };
    for (const hold of state.held) {
      const [group, index] = AXES[hold.slice(0, 2)];
      out[group][index] += hold[2] === "+" ? 1 : -1;
    }
    for (const group of ["translation", "rotation"]) {
      out[group] = out[group].map((v, i) => Math.max(-1, Math.min(1, v + state.pad[group][i])));
    }
    return { ...out, gripper: state.gripper, speed: SPEEDS[state.speedIndex], source: state.source };
  }

  function sendInput(source) {
    state.source = source;
    const input = inputState();
    const text = JSON.stringify(input);
    if (text === state.lastSent) return;
    state.lastSent = text;
    state.seq += 1;
    state.pending.push({ seq: state.seq, t: performance.now(), episode: state.status && state.status.episode });
    if (state.pending.length > 100) state.pending.shift();
    post("/control", { seq: state.seq, ...input }).then(async (response) => {
      if (response.status === 409) setRole("watching");
      else if (!response.ok && response.status !== 429) showError(await response.text());
    }).catch((error) => showError("control not sent: " + error.message));
  }

  function command(name) {
    post("/command", { command: name }).then(async (response) => {
      if (!response.ok) showError(await response.text());
    }).catch((error) => showError(name + " not sent: " + error.message));
  }

  function act(name, source) {
    if (name === "gripper") state.gripper = state.gripper === "open" ? "closed" : "open";
    else if (name === "slower") state.speedIndex = Math.max(0, state.speedIndex - 1);
    else if (name === "faster") state.speedIndex = Math.min(SPEEDS.length - 1, state.speedIndex + 1);
    else if (name.startsWith("speed")) state.speedIndex = Number(name.slice(5));
    else { command(name); return; }
    sendInput(source);
  }

  const KEY_ACTIONS = { Space: "gripper", Minus: "slower", Equal: "faster", KeyC: "camera", Enter: "save",
                        Backspace: "discard", Digit1: "speed0", Digit2: "speed1", Digit3: "speed2", Digit4: "speed3" };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const hold = KEY_HOLDS[event.code];
    const action = KEY_ACTIONS[event.code];
    if (!hold && !action) return;
    event.preventDefault();
    if (event.repeat) return;
    if (hold) { state.held.add(hold); sendInput("keyboard"); } else act(action, "keyboard");
  });
  document.addEventListener("keyup", (event) => {
    const hold = KEY_HOLDS[event.code];
    if (hold && state.held.delete(hold)) sendInput("keyboard");
  });
  window.addEventListener("blur", () => {  // keys released while the page had no focus never send keyup
    if (state.held.size) { state.held.clear(); sendInput("keyboard"); }
  });

  for (const button of document.querySelectorAll("#buttons button")) {
    const hold = button.dataset.hold;
    if (hold) {
      const release = () => {
        button.classList.remove("held");
        if (state.held.delete(hold)) sendInput("buttons");
      };
      button.addEventListener("pointerdown", (event) => {
        button.setPointerCapture(event.pointerId);
        button.classList.add("held");
        state.held.add(hold);
        sendInput("buttons");
      });
      button.addEventListener("pointerup", release);
      button.addEventListener("pointercancel", release);
    } else {
      button.addEventListener("click", () => act(button.dataset.action, "buttons"));
    }
  }

  // Gamepads have no events for their sticks: poll the standard mapping every animation frame.
  const PAD_ACTIONS = { 0: "gripper", 1: "discard", 2: "camera", 9: "save", 14: "slower", 15: "faster" };
  function pollGamepad() {
    const pads = navigator.getGamepads ? Array.from(navigator.getGamepads()).filter(Boolean) : [];
    if (pads.length) {
      const pad = pads[0];
      const axis = (i) => (Math.abs(pad.axes[i] || 0) < DEADZONE ? 0 : pad.axes[i]);
      const pressed = (i) => Boolean(pad.buttons[i] && pad.buttons[i].pressed);
      $("gamepad").textContent = "Gamepad: " + pad.id;
      state.pad.translation = [-axis(1), -axis(0), -axis(3)];
      state.pad.rotation = [(pressed(5) ? 1 : 0) - (pressed(4) ? 1 : 0), (pressed(12) ? 1 : 0) - (pressed(13) ? 1 : 0),
                            -axis(2)];
      const buttons = pad.buttons.map((b) => Boolean(b && b.pressed));
      for (const [index, name] of Object.entries(PAD_ACTIONS)) {
        if (buttons[index] && !state.pad.buttons[index]) act(name, "gamepad");
      }
      state.pad.buttons = buttons;
      const sticks = JSON.stringify([state.pad.translation, state.pad.rotation]);
      if (sticks !== state.pad.sticks) { state.pad.sticks = sticks; sendInput("gamepad"); }
    }
    requestAnimationFrame(pollGamepad);
  }
  window.addEventListener("gamepadconnected", (event) => { $("gamepad").textContent = "Gamepad: " + event.gamepad.id; });

  // ------------------------------------------------------------------ frames
  function setRole(role) {
    state.role = role;
    const text = { operator: "You control the robot.", watching: "Watching: another tab controls the robot.",
                   free: "Nobody controls the robot." }[role] || "";
    $("role").textContent = text;
    $("claim").classList.toggle("hidden", role === "operator");
    $("claim").disabled = role === "watching";
  }

  function median(values, q) {
    if (!values.length) return NaN;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }

  function onFrame(status, drawnAt) {
    state.status = status;
    state.frames += 1;
    state.frameTimes.push(drawnAt);
    while (state.frameTimes.length && drawnAt - state.frameTimes[0] > 1000) state.frameTimes.shift();
    while (state.pending.length && state.pending[0].seq <= status.input_seq) {
      const press = state.pending.shift();
      if (press.episode !== status.episode || !status.running) continue;  // a new episode's first frame waited
      state.latencies.push(drawnAt - press.t);
      if (state.latencies.length > 200) state.latencies.shift();
    }
    setRole(status.role);
    $("task").textContent = status.task;
    $("instruction").textContent = status.instruction;
    $("camera").textContent = "camera " + status.camera + " (C switches)";
    $("fps").textContent = state.frameTimes.length + " frames/s";
    const lat = state.latencies.slice(-50);
    $("latency").textContent = lat.length
      ? `latency ${median(lat, 0.5).toFixed(0)} ms (p95 ${median(lat, 0.95).toFixed(0)} ms)` : "";
    const slow = status.running && status.realtime < 0.95;
    $("realtime").classList.toggle("hidden", !slow);
    $("realtime").textContent = slow ? `simulation at ${status.realtime.toFixed(2)}x real time: ` +
      `it cannot keep the ${status.control_hz} Hz control rate` : "";
    $("episode").textContent = `${status.episode} (seed ${status.seed})`;
    $("step").textContent = status.step === undefined ? "-" : String(status.step);
    $("success").textContent = status.success ? "yes" : "no";
    $("success").className = status.success ? "ok" : "";
    $("reward").textContent = status.reward === undefined ? "-" : status.reward.toFixed(3);
    $("gripper").textContent = `${state.gripper} (${status.gripper_width_mm} mm)`;
    $("speed").textContent = `${Math.round(SPEEDS[state.speedIndex] * 100)}%`;
    const last = status.last || {};
    $("last").textContent = last.outcome ? `${last.outcome}${last.kept ? `, episode ${last.episode}, ` +
      `${last.length} steps` : ", nothing to keep"}` : "-";
    $("recorded").textContent = String(status.recorded);
    const banner = $("banner");
    let text = "", kind = "";
    const safety = status.safety;
    $("safety").classList.toggle("hidden", !safety);
    if (safety) {
      const exceeded = safety.quasi_static_exceeded || safety.transient_exceeded || safety.speed_limit_exceeded;
      $("force").textContent = `${safety.max_contact_force_n.toFixed(1)} N` +
        (safety.max_force_region ? ` (${safety.max_force_region})` : "");
      $("limits").textContent = exceeded ? "EXCEEDED: " + ["quasi_static", "transient", "speed_limit"]
        .filter((k) => safety[k + "_exceeded"]).join(", ") : "within limits";
      $("limits").className = exceeded ? "warn" : "ok";
      $("nearest").textContent = `${(safety.nearest_distance_m * 100).toFixed(1)} cm (${safety.nearest_region})`;
      if (exceeded) { text = "ISO/TS 15066 LIMIT EXCEEDED"; kind = "danger"; }
      else if (safety.near_person) { text = `NEAR THE PERSON: ${(safety.nearest_distance_m * 100).toFixed(0)} cm ` +
        `from the ${safety.nearest_region.replace("_", " ")}`; kind = "near"; }
    }
    if (!status.running && last.outcome) { text = `attempt ended: ${last.outcome}`; kind = "done"; }
    banner.textContent = text;
    banner.className = "banner " + kind + (text ? "" : " hidden");
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function frameLoop() {
    let after = 0;
    for (;;) {
      try {
        const response = await fetch(`/frame?after=${after}&client=${state.client}`, { cache: "no-store" });
        if (!response.ok) {
          const text = await response.text();
          if (response.status !== 503) showError(text);
          await sleep(250);
          continue;
        }
        const status = JSON.parse(response.headers.get("X-Embodia-Status"));
        const bitmap = await createImageBitmap(await response.blob());
        if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
          canvas.width = bitmap.width;
          canvas.height = bitmap.height;
        }
        context.drawImage(bitmap, 0, 0);
        bitmap.close();
        if (status.frame !== after) onFrame(status, performance.now());
        else setRole(status.role);  // no new frame (nobody drives), but who controls may have changed
        after = status.frame;
      } catch (error) {
        showError("connection to the server lost: " + error.message);
        await sleep(1000);
      }
    }
  }

  async function claim() {
    const response = await post("/command", { command: "claim" });
    if (!response.ok) { showError(await response.text()); return; }
    const answer = await response.json();
    setRole(answer.operator ? "operator" : "watching");
    if (answer.operator) { state.lastSent = ""; sendInput(state.source); }
  }

  $("claim").addEventListener("click", claim);
  window.addEventListener("pagehide", () => {
    navigator.sendBeacon("/command", JSON.stringify({ client: state.client, command: "leave" }));
  });
  document.body.dataset.ready = "true";
  claim().then(frameLoop);
  requestAnimationFrame(pollGamepad);
})();
