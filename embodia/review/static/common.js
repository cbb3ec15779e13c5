// What every page of the review site shares: the episode index, verdicts (localStorage), the review-file export,
// lazy loading of one episode's plot data, and small formatting helpers. No dependencies: the site works offline.
"use strict";

const Review = (() => {
  const index = window.EMBODIA_INDEX;
  if (!index) {
    document.body.textContent = "data/index.js is missing: regenerate the site with `embodia review DIR`.";
    throw new Error("EMBODIA_INDEX not loaded");
  }
  const episodes = index.episodes;
  const byId = new Map(episodes.map((e) => [e.id, e]));
  // Verdicts are per reviewed folder: file:// pages share one localStorage, so the key names the folder.
  const marksKey = "embodia.review.marks:" + index.root;

  function loadMarks() {
    try {
      const marks = JSON.parse(localStorage.getItem(marksKey) || "{}");
      return marks && typeof marks === "object" ? marks : {};
    } catch (_error) {
      return {};
    }
  }

  function verdict(episode) {
    return loadMarks()[episode.path] || null;
  }

  function setVerdict(episode, value) {
    const marks = loadMarks();
    if (value) marks[episode.path] = value;
    else delete marks[episode.path];
    localStorage.setItem(marksKey, JSON.stringify(marks));
    document.dispatchEvent(new CustomEvent("verdictchange", { detail: { path: episode.path, verdict: value } }));
  }

  // The review file consumed by `embodia dataset filter --review FILE` (format in envs/record/review_file.py).
  function reviewDocument() {
    const marks = loadMarks();
    return {
      format: "embodia.review",
      schema_version: 1,
      created_utc: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      root: index.root,
      episodes: episodes
        .filter((e) => marks[e.path] === "accepted" || marks[e.path] === "rejected")
        .map((e) => ({ path: e.path, env_id: e.env_id, policy: e.policy, seed: e.seed, verdict: marks[e.path] })),
    };
  }

  function exportReview() {
    const text = JSON.stringify(reviewDocument(), null, 2) + "\n";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    link.download = "review.json";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  // One episode's plots live in data/episodes/<id>.js; a script tag is the one loader that works on file://.
  function loadEpisodeData(id) {
    const loaded = window.EMBODIA_EPISODES && window.EMBODIA_EPISODES[id];
    if (loaded) return Promise.resolve(loaded);
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "data/episodes/" + encodeURIComponent(id) + ".js";
      script.onload = () => {
        const data = window.EMBODIA_EPISODES && window.EMBODIA_EPISODES[id];
        if (data) resolve(data);
        else reject(new Error("no plot data in " + script.src));
      };
      script.onerror = () => reject(new Error("cannot load " + script.src + ": regenerate the site"));
      document.head.appendChild(script);
    });
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "style") node.style.cssText = value; // through the CSSOM: the server's CSP allows no inline styles
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) {
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  }

  function fmt(value, digits = 3) {
    if (value === null || value === undefined) return "–";
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value)) return String(value);
    return value.toFixed(digits);
  }

  function outcome(episode) {
    if (episode.physics_unstable) return { key: "unstable", label: "unstable" };
    if (episode.fail) return { key: "fail", label: "fail" };
    if (episode.success) return { key: "success", label: "success" };
    return { key: "failure", label: "no success" };
  }

  function badge(episode) {
    const o = outcome(episode);
    return el("span", { class: "badge " + o.key, text: o.label });
  }

  // Accept / reject toggles for one episode; clicking the active verdict clears it.
  function markButtons(episode) {
    const accept = el("button", { class: "accept", type: "button", title: "accept (a)", text: "✓ accept" });
    const reject = el("button", { class: "reject", type: "button", title: "reject (r)", text: "✗ reject" });
    const box = el("span", { class: "mark", dataset: { path: episode.path } }, accept, reject);
    const refresh = () => {
      const v = verdict(episode);
      accept.classList.toggle("on", v === "accepted");
      reject.classList.toggle("on", v === "rejected");
      box.dataset.verdict = v || "";
    };
    accept.addEventListener("click", () => setVerdict(episode, verdict(episode) === "accepted" ? null : "accepted"));
    reject.addEventListener("click", () => setVerdict(episode, verdict(episode) === "rejected" ? null : "rejected"));
    document.addEventListener("verdictchange", (event) => {
      if (event.detail.path === episode.path) refresh();
    });
    refresh();
    return box;
  }

  function exportButton() {
    return el("button", { type: "button", id: "export-review", onclick: exportReview, text: "export review file" });
  }

  function safetyFacts(episode) {
    return Object.entries(episode.safety || {}).map(([key, value]) => [key, fmt(value, 2)]);
  }

  // How the demonstration was performed (envs/record/quality.py): what poor human demonstrations are rejected by.
  const QUALITY = [["path_length_m", "path", " m", 2], ["idle_s", "idle", " s", 1], ["rms_jerk_m_s3", "jerk", " m/s³", 0]];
  function qualityFacts(episode, all) {
    const quality = episode.quality || {};
    const facts = QUALITY.filter(([key]) => quality[key] !== null && quality[key] !== undefined)
      .map(([key, label, unit, digits]) => [label, fmt(quality[key], digits) + unit]);
    if (all && quality.duration_s !== undefined) facts.unshift(["duration", fmt(quality.duration_s, 2) + " s"]);
    if (all && quality.idle_fraction !== null && quality.idle_fraction !== undefined) {
      facts.push(["idle fraction", fmt(quality.idle_fraction, 3)]);
    }
    if (episode.operator) facts.push(["operator", episode.operator]);
    return facts;
  }

  return {
    index, episodes, byId, verdict, setVerdict, loadMarks, reviewDocument, exportReview, loadEpisodeData,
    el, fmt, outcome, badge, markButtons, exportButton, safetyFacts, qualityFacts,
  };
})();
