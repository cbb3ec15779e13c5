// One episode: its video beside per-step plots, one cursor for both; facts, verdict buttons, previous / next.
"use strict";

(() => {
  const { index, byId, el, fmt } = Review;
  const $ = (id) => document.getElementById(id);
  const id = new URLSearchParams(location.search).get("id");
  const episode = byId.get(id);
  $("export-slot").append(Review.exportButton());
  if (!episode) {
    $("player").replaceChildren(el("p", { text: "No episode " + JSON.stringify(id) + " in this site. " }), el("a", { href: "index.html", text: "back to the gallery" }));
    $("plots").replaceChildren();
    return;
  }
  document.title = episode.task + " " + episode.policy + " seed " + episode.seed + " · embodia review";
  $("title").append(el("strong", { text: episode.env_id }), " · " + episode.policy + " · seed " + fmt(episode.seed) + " ", Review.badge(episode));

  // previous / next in the gallery's current order (else the index order)
  const order = galleryOrder();
  const at = order.indexOf(episode.id);
  for (const [link, offset] of [[$("prev"), -1], [$("next"), 1]]) {
    const other = order[at + offset];
    if (at >= 0 && other) link.href = "episode.html?id=" + encodeURIComponent(other);
    else link.removeAttribute("href");
  }
  function galleryOrder() {
    try {
      const saved = JSON.parse(sessionStorage.getItem("embodia.review.order:" + index.root) || "null");
      if (Array.isArray(saved) && saved.includes(id)) return saved;
    } catch (_error) { /* fall back to the index order */ }
    return Review.episodes.map((e) => e.id);
  }

  const facts = [
    ["task", episode.env_id], ["instruction", episode.instruction || "-"], ["policy", episode.policy],
    ["policy class", episode.policy_class],
    ["seed", fmt(episode.seed)], ["episode", fmt(episode.episode)], ["success", String(episode.success)],
    ["fail", String(episode.fail)], ["physics unstable", String(episode.physics_unstable)],
    ["return", fmt(episode.return, 3)], ["length (steps)", String(episode.length)],
    ["control rate", episode.control_hz + " Hz"], ...Review.safetyFacts(episode), ...Review.qualityFacts(episode, true),
    ["file", episode.path],
  ];
  const table = el("table", { class: "facts" }, facts.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: v }))));
  const marks = el("div", { class: "actions", style: "margin-top:8px" }, Review.markButtons(episode));

  // per-region safety figures (peak force, pressure, time over the limit by body region): the non-zero ones
  function safetyDetail(detail) {
    const entries = Object.entries(detail);
    if (!entries.length) return null;
    const nonzero = entries.filter(([, v]) => v !== 0);
    const rows = nonzero.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: fmt(v, 3) })));
    const summary = "safety by region: " + nonzero.length + " non-zero of " + entries.length;
    return el("details", { class: "safety-detail" }, el("summary", { text: summary }), el("table", { class: "facts" }, rows));
  }

  Review.loadEpisodeData(episode.id).then(
    (data) => {
      const player = new EpisodePlayer(episode, data, null);
      window.embodiaPlayer = player; // for the browser tests and the console
      $("player").replaceChildren(player.media, player.transport, marks, table, safetyDetail(data.safety_detail || {}));
      $("plots").replaceChildren(player.plotBox);
      document.addEventListener("keydown", (event) => {
        if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") return;
        if (event.key === "ArrowRight") player.seek(player.frame + 1);
        else if (event.key === "ArrowLeft") player.seek(player.frame - 1);
        else if (event.key === " ") player.togglePlay();
        else if (event.key === "a") Review.setVerdict(episode, Review.verdict(episode) === "accepted" ? null : "accepted");
        else if (event.key === "r") Review.setVerdict(episode, Review.verdict(episode) === "rejected" ? null : "rejected");
        else return;
        event.preventDefault();
      });
      document.body.dataset.ready = "true";
    },
    (error) => {
      $("player").replaceChildren(marks, table);
      $("plots").replaceChildren(el("p", { text: String(error.message || error) }));
    },
  );
})();
