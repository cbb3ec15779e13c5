// The gallery: one card per episode, filtered, sorted and paginated in memory. Only one page of cards exists in
// the DOM at a time and thumbnails load lazily, so a thousand episodes cost a thousand objects, not a thousand
// images or videos. The filter state lives in the URL hash, so "back" from an episode returns to the same view.
"use strict";

(() => {
  const PAGE_SIZE = 48;
  const { index, episodes, el, fmt } = Review;
  const $ = (id) => document.getElementById(id);
  const controls = {
    text: $("filter-text"), task: $("filter-task"), policy: $("filter-policy"), outcome: $("filter-outcome"),
    returnMin: $("filter-return-min"), returnMax: $("filter-return-max"), verdict: $("filter-verdict"),
    sortKey: $("sort-key"), sortOrder: $("sort-order"),
  };
  const selected = new Set();
  let page = 0;

  $("filters").addEventListener("submit", (event) => event.preventDefault()); // Enter filters; it never submits
  $("root").textContent = index.root;
  $("export-slot").append(Review.exportButton());
  for (const value of [...new Set(episodes.map((e) => e.env_id))].sort()) controls.task.append(el("option", { value, text: value }));
  for (const value of [...new Set(episodes.map((e) => e.policy))].sort()) controls.policy.append(el("option", { value, text: value }));
  const safetyKeys = [...new Set(episodes.flatMap((e) => Object.keys(e.safety || {})))].sort();
  const qualityKeys = ["path_length_m", "idle_s", "idle_fraction", "rms_jerk_m_s3"];
  const sortKeys = ["task", "policy", "seed", "return", "length", "success", "path", ...safetyKeys.map((k) => "safety." + k),
                    ...qualityKeys.map((k) => "quality." + k)];
  for (const key of sortKeys) controls.sortKey.append(el("option", { value: key, text: key }));

  if (index.skipped.length) {
    const list = el("ul", {}, index.skipped.map((s) => el("li", { text: s.path + ": " + s.reason })));
    $("skipped").append(el("details", { class: "notice" }, el("summary", { text: index.skipped.length + " files skipped when the site was built" }), list));
  }

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    for (const [name, control] of Object.entries(controls)) {
      if (params.has(name)) control.value = params.get(name);
    }
    if (!controls.sortKey.value) controls.sortKey.value = "task";
    page = Math.max(0, Number(params.get("page")) || 0);
  }

  function writeHash() {
    const params = new URLSearchParams();
    for (const [name, control] of Object.entries(controls)) {
      if (control.value && !(name === "sortKey" && control.value === "task") && !(name === "sortOrder" && control.value === "asc")) {
        params.set(name, control.value);
      }
    }
    if (page) params.set("page", String(page));
    history.replaceState(null, "", params.toString() ? "#" + params.toString() : location.pathname + location.search);
  }

  function sortValue(episode, key) {
    if (key.startsWith("safety.")) return (episode.safety || {})[key.slice(7)];
    if (key.startsWith("quality.")) return (episode.quality || {})[key.slice(8)];
    if (key === "task") return episode.env_id;
    if (key === "success") return episode.success ? 1 : 0;
    return episode[key];
  }

  function compare(a, b, key) {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    if (x === y) return 0;
    if (x === null || x === undefined) return 1; // missing values last in either order
    if (y === null || y === undefined) return -1;
    return typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
  }

  function visibleEpisodes() {
    const text = controls.text.value.trim().toLowerCase();
    const task = controls.task.value;
    const policy = controls.policy.value;
    const outcome = controls.outcome.value;
    const low = controls.returnMin.value === "" ? -Infinity : Number(controls.returnMin.value);
    const high = controls.returnMax.value === "" ? Infinity : Number(controls.returnMax.value);
    const wanted = controls.verdict.value;
    const marks = Review.loadMarks();
    const list = episodes.filter((e) => {
      if (task && e.env_id !== task) return false;
      if (policy && e.policy !== policy) return false;
      if (outcome === "success" && !e.success) return false;
      if (outcome === "no-success" && e.success) return false;
      if (outcome === "fail" && !e.fail) return false;
      if (outcome === "unstable" && !e.physics_unstable) return false;
      const ret = e.return === null ? NaN : e.return;
      if ((low > -Infinity || high < Infinity) && !(ret >= low && ret <= high)) return false;
      const v = marks[e.path] || "unmarked";
      if (wanted && v !== wanted) return false;
      if (text) {
        const haystack = [e.path, e.env_id, e.policy, e.policy_class, e.instruction || "", "seed " + e.seed, String(e.seed)].join(" ").toLowerCase();
        if (!haystack.includes(text)) return false;
      }
      return true;
    });
    const key = controls.sortKey.value || "task";
    const sign = controls.sortOrder.value === "desc" ? -1 : 1;
    // ties keep the index order (task, run, episode), so the order is stable and predictable
    const position = new Map(episodes.map((e, i) => [e.id, i]));
    list.sort((a, b) => sign * compare(a, b, key) || position.get(a.id) - position.get(b.id));
    return list;
  }

  function card(episode) {
    const href = "episode.html?id=" + encodeURIComponent(episode.id);
    const picture = episode.thumb
      ? el("img", { src: episode.thumb, loading: "lazy", decoding: "async", alt: episode.path })
      : el("div", { class: "placeholder", text: "no video" });
    const facts = [
      "seed " + fmt(episode.seed), "return " + fmt(episode.return, 2), "length " + episode.length,
      ...Review.safetyFacts(episode).map(([k, v]) => k + " " + v),
      ...Review.qualityFacts(episode, false).map(([k, v]) => k + " " + v),
    ];
    const pick = el("input", { type: "checkbox", class: "pick", title: "select for comparison", checked: selected.has(episode.id) });
    pick.addEventListener("change", () => {
      if (pick.checked) selected.add(episode.id);
      else selected.delete(episode.id);
      updateCompareButton();
    });
    const verdict = Review.verdict(episode);
    return el(
      "article",
      { class: "card" + (verdict ? " " + verdict : ""), dataset: { id: episode.id, path: episode.path } },
      el("a", { class: "thumb", href }, picture),
      el(
        "div",
        { class: "body" },
        el("a", { class: "title", href, text: episode.task + " · " + episode.policy }),
        episode.instruction ? el("div", { class: "instruction", text: "\u201c" + episode.instruction + "\u201d" }) : null,
        el("div", { class: "facts" }, Review.badge(episode), facts.map((f) => el("span", { text: f }))),
        el("div", { class: "facts", title: episode.path }, el("span", { text: episode.path })),
        el("div", { class: "actions" }, Review.markButtons(episode), el("label", { class: "muted" }, pick, " compare")),
      ),
    );
  }

  function updateCompareButton() {
    const button = $("compare-selected");
    button.disabled = selected.size !== 2;
    button.textContent = "compare 2 selected (" + selected.size + ")";
  }

  function updateVerdictCount() {
    const marks = Object.values(Review.loadMarks());
    const accepted = marks.filter((v) => v === "accepted").length;
    const rejected = marks.filter((v) => v === "rejected").length;
    $("verdict-count").textContent = accepted + " accepted, " + rejected + " rejected";
  }

  function render() {
    const list = visibleEpisodes();
    const pages = Math.max(1, Math.ceil(list.length / PAGE_SIZE));
    page = Math.min(page, pages - 1);
    const shown = list.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
    $("gallery").replaceChildren(...shown.map(card));
    $("count").textContent = list.length + " of " + episodes.length + " episodes";
    $("count").dataset.count = String(list.length);
    $("page").textContent = "page " + (page + 1) + " / " + pages;
    $("page-prev").disabled = page === 0;
    $("page-next").disabled = page >= pages - 1;
    // the episode page's previous / next follow this order
    sessionStorage.setItem("embodia.review.order:" + index.root, JSON.stringify(list.map((e) => e.id)));
    writeHash();
    updateVerdictCount();
  }

  for (const control of Object.values(controls)) {
    control.addEventListener("input", () => { page = 0; render(); });
  }
  $("filter-reset").addEventListener("click", () => {
    for (const control of Object.values(controls)) control.value = "";
    controls.sortKey.value = "task";
    controls.sortOrder.value = "asc";
    page = 0;
    render();
  });
  $("page-prev").addEventListener("click", () => { page -= 1; render(); window.scrollTo(0, 0); });
  $("page-next").addEventListener("click", () => { page += 1; render(); window.scrollTo(0, 0); });
  $("compare-selected").addEventListener("click", () => {
    const [a, b] = [...selected];
    location.href = "compare.html?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b);
  });
  document.addEventListener("verdictchange", (event) => {
    const node = document.querySelector('.card[data-path="' + CSS.escape(event.detail.path) + '"]');
    if (node) {
      node.classList.remove("accepted", "rejected");
      if (event.detail.verdict) node.classList.add(event.detail.verdict);
    }
    updateVerdictCount();
  });

  readHash();
  updateCompareButton();
  render();
  document.body.dataset.ready = "true";
})();
