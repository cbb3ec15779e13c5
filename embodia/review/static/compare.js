// Comparison: success rate and return per policy and task, and two episodes side by side on one clock.
// The longer episode's video is the clock; the other follows it (re-seeked when it drifts by more than a frame)
// and holds its last frame once it has ended.
"use strict";

(() => {
  const { episodes, byId, el, fmt } = Review;
  const $ = (id) => document.getElementById(id);
  $("export-slot").append(Review.exportButton());

  // --- aggregate table -------------------------------------------------------------------------------------
  const groups = new Map();
  for (const e of episodes) {
    const key = e.env_id + "\u0000" + e.policy;
    if (!groups.has(key)) groups.set(key, { env_id: e.env_id, policy: e.policy, list: [] });
    groups.get(key).list.push(e);
  }
  const safetyKeys = [...new Set(episodes.flatMap((e) => Object.keys(e.safety || {})))].sort();
  const mean = (values) => {
    const finite = values.filter((v) => typeof v === "number" && Number.isFinite(v));
    return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : null;
  };
  const header = ["task", "policy", "episodes", "success rate", "mean return", "mean length", "fail rate", ...safetyKeys.map((k) => "mean " + k)];
  const rows = [...groups.values()]
    .sort((a, b) => a.env_id.localeCompare(b.env_id) || a.policy.localeCompare(b.policy))
    .map((g) => {
      const n = g.list.length;
      const successes = g.list.filter((e) => e.success).length;
      const cells = [
        g.env_id, g.policy, String(n), (100 * successes / n).toFixed(1) + "% (" + successes + "/" + n + ")",
        fmt(mean(g.list.map((e) => e.return)), 3), fmt(mean(g.list.map((e) => e.length)), 1),
        (100 * g.list.filter((e) => e.fail).length / n).toFixed(1) + "%",
        ...safetyKeys.map((k) => fmt(mean(g.list.map((e) => (e.safety || {})[k])), 2)),
      ];
      return el("tr", { dataset: { task: g.env_id, policy: g.policy } }, cells.map((c) => el("td", { text: c })));
    });
  $("aggregate").replaceChildren(el("tr", {}, header.map((h) => el("th", { text: h }))), ...rows);

  // --- pickers ---------------------------------------------------------------------------------------------
  const tasks = [...new Set(episodes.map((e) => e.env_id))].sort();
  const policiesOf = (task) => [...new Set(episodes.filter((e) => e.env_id === task).map((e) => e.policy))].sort();
  const episodesOf = (task, policy) => episodes.filter((e) => e.env_id === task && e.policy === policy);
  const label = (e) => "seed " + fmt(e.seed) + " · " + (e.success ? "success" : "no success") + " · return " + fmt(e.return, 2) + " · " + e.run;
  const fill = (select, values, labels) => select.replaceChildren(...values.map((v, i) => el("option", { value: v, text: labels ? labels[i] : v })));

  const params = new URLSearchParams(location.search);
  const start = { a: byId.get(params.get("a")), b: byId.get(params.get("b")) };
  if (!start.a) {
    // by default, two policies of the same task when some task has two
    const task = tasks.find((t) => policiesOf(t).length > 1) || tasks[0];
    const policies = policiesOf(task);
    start.a = episodesOf(task, policies[0])[0];
    if (!start.b) {
      const others = episodesOf(task, policies[1] || policies[0]);
      start.b = others.find((e) => e !== start.a) || others[0];
    }
  }
  if (!start.b) start.b = episodes.find((e) => e !== start.a) || start.a;

  const sides = {};
  for (const side of ["a", "b"]) {
    const taskSelect = $("pick-task-" + side);
    const policySelect = $("pick-policy-" + side);
    const episodeSelect = $("pick-" + side);
    fill(taskSelect, tasks);
    const refillPolicies = () => {
      fill(policySelect, policiesOf(taskSelect.value));
    };
    const refillEpisodes = () => {
      const list = episodesOf(taskSelect.value, policySelect.value);
      fill(episodeSelect, list.map((e) => e.id), list.map(label));
    };
    taskSelect.addEventListener("change", () => { refillPolicies(); refillEpisodes(); show(); });
    policySelect.addEventListener("change", () => { refillEpisodes(); show(); });
    episodeSelect.addEventListener("change", show);
    const initial = start[side];
    taskSelect.value = initial.env_id;
    refillPolicies();
    policySelect.value = initial.policy;
    refillEpisodes();
    episodeSelect.value = initial.id;
    sides[side] = { episodeSelect, player: null };
  }

  // --- side by side, one clock -----------------------------------------------------------------------------
  const slider = $("sync-slider");
  const readout = $("sync-readout");
  const playButton = $("sync-play");
  let generation = 0;

  function players() {
    return [sides.a.player, sides.b.player].filter(Boolean);
  }

  function clock() {
    const withVideo = players().filter((p) => p.video);
    if (!withVideo.length) return null;
    return withVideo.reduce((best, p) => (p.frames > best.frames ? p : best));
  }

  function frames() {
    return Math.max(1, ...players().map((p) => p.frames));
  }

  function showShared(frame) {
    slider.value = String(frame);
    readout.textContent = "frame " + frame + " / " + (frames() - 1);
    readout.dataset.frame = String(frame);
  }

  function seekAll(frame) {
    for (const p of players()) p.seek(Math.min(frame, p.frames - 1));
    showShared(frame);
  }

  function follow() {
    const master = clock();
    if (!master || master.video.paused) {
      playButton.textContent = "▶ play both";
      return;
    }
    const time = master.video.currentTime;
    const frame = master.frameOfTime(time);
    for (const p of players()) {
      if (p === master) continue;
      if (p.video && frame < p.frames) {
        if (p.video.paused && !master.video.ended) p.video.play();
        if (Math.abs(p.video.currentTime - time) > 1.5 / p.fps) p.video.currentTime = time;
      } else if (p.video && !p.video.paused) {
        p.video.pause(); // ended earlier: hold its last frame
      }
      if (!p.video) p.show(Math.min(frame, p.frames - 1));
    }
    showShared(frame);
    requestAnimationFrame(follow);
  }

  playButton.addEventListener("click", () => {
    const master = clock();
    if (!master) return;
    if (!master.video.paused && !master.video.ended) {
      for (const p of players()) if (p.video) p.video.pause();
      return;
    }
    if (master.video.ended || master.frame >= master.frames - 1) seekAll(0);
    playButton.textContent = "❚❚ pause";
    for (const p of players()) if (p.video && p.frame < p.frames - 1) p.video.play();
    requestAnimationFrame(follow);
  });
  slider.addEventListener("input", () => seekAll(Number(slider.value)));

  function panel(episode, player) {
    const facts = [
      ["return", fmt(episode.return, 3)], ["length", String(episode.length)], ["seed", fmt(episode.seed)],
      ...Review.safetyFacts(episode), ["file", episode.path],
    ];
    return [
      el("div", {}, el("a", { href: "episode.html?id=" + encodeURIComponent(episode.id), text: episode.env_id + " · " + episode.policy }), " ", Review.badge(episode)),
      el("div", { class: "actions", style: "margin: 6px 0" }, Review.markButtons(episode)),
      player ? player.media : null,
      el("table", { class: "facts" }, facts.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: v })))),
      player ? player.plotBox : el("p", { class: "muted", text: "loading plots…" }),
    ];
  }

  function show() {
    const current = ++generation;
    const chosen = { a: byId.get(sides.a.episodeSelect.value), b: byId.get(sides.b.episodeSelect.value) };
    history.replaceState(null, "", "compare.html?a=" + encodeURIComponent(chosen.a.id) + "&b=" + encodeURIComponent(chosen.b.id));
    for (const p of players()) if (p.video) p.video.pause();
    sides.a.player = sides.b.player = null;
    document.body.dataset.ready = "false";
    for (const side of ["a", "b"]) $("side-" + side).replaceChildren(...panel(chosen[side], null));
    Promise.all([Review.loadEpisodeData(chosen.a.id), Review.loadEpisodeData(chosen.b.id)]).then(
      ([dataA, dataB]) => {
        if (current !== generation) return; // a newer choice is being loaded
        const options = { noControls: true, onSeek: seekAll };
        sides.a.player = new EpisodePlayer(chosen.a, dataA, null, options);
        sides.b.player = new EpisodePlayer(chosen.b, dataB, null, options);
        for (const side of ["a", "b"]) {
          $("side-" + side).replaceChildren(...panel(chosen[side], sides[side].player));
          $("side-" + side).dataset.id = chosen[side].id;
        }
        slider.max = String(frames() - 1);
        showShared(0);
        window.embodiaCompare = { a: sides.a.player, b: sides.b.player, seekAll };
        document.body.dataset.ready = "true";
      },
      (error) => {
        $("side-a").replaceChildren(el("p", { text: String(error.message || error) }));
      },
    );
  }

  show();
})();
