// Per-step plots on canvas with a cursor, and the player that keeps a video and its plots on the same step.
// The x axis is the video frame: frame 0 is the reset, frame t the state after step t; the video runs at the
// control rate, so frame = floor(currentTime * control_hz).
"use strict";

const PALETTE = ["#2f6fdf", "#d9480f", "#2b8a3e", "#862e9c", "#0b7285", "#c2255c", "#e8b100", "#5c940d", "#495057"];

class StepPlot {
  // plot: {name, unit, first_frame, series: {label: [values]}}; onSeek(frame) is called on click or drag.
  constructor(plot, frames, events, onSeek) {
    this.plot = plot;
    this.frames = frames;
    this.events = events || {};
    this.onSeek = onSeek;
    this.cursor = 0;
    this.names = Object.keys(plot.series);
    const unit = plot.unit ? " (" + plot.unit + ")" : "";
    this.canvas = Review.el("canvas", { dataset: { plot: plot.name, cursor: "0" } });
    this.legend = Review.el("div", { class: "legend" });
    this.values = this.names.map((name, i) => {
      const value = Review.el("span", { class: "value" });
      this.legend.append(
        Review.el("span", {}, Review.el("span", { class: "swatch", style: "background:" + PALETTE[i % PALETTE.length] }), name + " ", value),
      );
      return value;
    });
    this.element = Review.el("div", { class: "plot" }, Review.el("div", { class: "plot-title", text: plot.name + unit }), this.canvas, this.legend);
    this.range = this.valueRange();
    let dragging = false;
    const seek = (event) => this.onSeek && this.onSeek(this.frameAt(event.clientX));
    this.canvas.addEventListener("mousedown", (event) => { dragging = true; seek(event); });
    this.canvas.addEventListener("mousemove", (event) => { if (dragging) seek(event); });
    window.addEventListener("mouseup", () => { dragging = false; });
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  valueRange() {
    let low = Infinity;
    let high = -Infinity;
    for (const name of this.names) {
      for (const v of this.plot.series[name]) {
        if (v === null) continue;
        if (v < low) low = v;
        if (v > high) high = v;
      }
    }
    if (!Number.isFinite(low)) return [0, 1];
    if (high - low < 1e-9) return [low - 0.5, high + 0.5];
    const pad = 0.05 * (high - low);
    return [low - pad, high + pad];
  }

  margins() {
    return { left: 48, right: 8, top: 6, bottom: 18 };
  }

  frameAt(clientX) {
    const box = this.canvas.getBoundingClientRect();
    const m = this.margins();
    const fraction = (clientX - box.left - m.left) / Math.max(1, box.width - m.left - m.right);
    return Math.max(0, Math.min(this.frames - 1, Math.round(fraction * (this.frames - 1))));
  }

  setCursor(frame) {
    if (frame === this.cursor && this.drawn) return;
    this.cursor = frame;
    this.canvas.dataset.cursor = String(frame);
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const m = this.margins();
    const plotW = width - m.left - m.right;
    const plotH = height - m.top - m.bottom;
    const [low, high] = this.range;
    const x = (frame) => m.left + (plotW * frame) / Math.max(1, this.frames - 1);
    const y = (value) => m.top + plotH * (1 - (value - low) / (high - low));

    ctx.strokeStyle = "#d9dee6";
    ctx.fillStyle = "#5d6778";
    ctx.font = "10px system-ui, sans-serif";
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const value of [low, (low + high) / 2, high]) {
      ctx.beginPath();
      ctx.moveTo(m.left, y(value));
      ctx.lineTo(width - m.right, y(value));
      ctx.stroke();
      ctx.fillText(Review.fmt(value, Math.abs(high - low) < 0.1 ? 4 : 2), m.left - 4, y(value));
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const tick = Math.max(1, Math.ceil(this.frames / 8 / 10) * 10);
    for (let frame = 0; frame < this.frames; frame += tick) ctx.fillText(String(frame), x(frame), m.top + plotH + 4);

    for (const [key, colour] of [["success", "#1f8a4c"], ["fail", "#c2362f"]]) {
      const frame = this.events[key];
      if (frame === null || frame === undefined) continue;
      ctx.strokeStyle = colour;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(x(frame), m.top);
      ctx.lineTo(x(frame), m.top + plotH);
      ctx.stroke();
      ctx.setLineDash([]);
    }

    const first = this.plot.first_frame || 0;
    this.names.forEach((name, i) => {
      const values = this.plot.series[name];
      ctx.strokeStyle = PALETTE[i % PALETTE.length];
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let pen = false;
      values.forEach((v, k) => {
        if (v === null) { pen = false; return; }
        if (pen) ctx.lineTo(x(first + k), y(v));
        else ctx.moveTo(x(first + k), y(v));
        pen = true;
      });
      ctx.stroke();
      const at = this.cursor - first;
      this.values[i].textContent = at >= 0 && at < values.length ? Review.fmt(values[at], 4) : "–";
    });

    ctx.strokeStyle = "#1d2430";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x(this.cursor), m.top);
    ctx.lineTo(x(this.cursor), m.top + plotH);
    ctx.stroke();
    this.drawn = true;
  }
}

// A video (or none) and the plots of one episode, kept on one frame. `frame` is the single source of truth
// for the cursor; the video drives it while playing, a click on a plot or the slider seeks the video.
class EpisodePlayer {
  constructor(episode, data, container, options = {}) {
    this.episode = episode;
    this.data = data;
    this.fps = data.control_hz;
    this.frames = data.frames;
    this.frame = 0;
    this.listeners = [];
    const wanted = options.plots ? data.plots.filter((p) => options.plots.includes(p.name)) : data.plots;
    const onSeek = options.onSeek || ((frame) => this.seek(frame));
    this.plots = wanted.map((p) => new StepPlot(p, this.frames, data.events, onSeek));
    if (episode.video) {
      this.video = Review.el("video", { src: episode.video, muted: true, preload: "auto", playsinline: true, controls: !options.noControls });
      this.video.muted = true;
      this.media = this.video;
    } else {
      this.video = null;
      this.media = Review.el("div", { class: "no-video", text: "no video recorded for this episode" });
    }
    this.slider = Review.el("input", { type: "range", min: "0", max: String(this.frames - 1), value: "0", step: "1", class: "step-slider" });
    this.readout = Review.el("span", { class: "readout" });
    this.slider.addEventListener("input", () => this.seek(Number(this.slider.value)));
    this.playButton = Review.el("button", { type: "button", class: "play", text: "▶ play" });
    this.playButton.addEventListener("click", () => this.togglePlay());
    this.transport = Review.el("div", { class: "transport" }, options.noControls ? null : this.playButton, this.slider, this.readout);
    this.plotBox = Review.el("div", { class: "plots" }, this.plots.map((p) => p.element));
    if (this.video) {
      const sync = () => this.show(this.frameOfTime(this.video.currentTime));
      for (const name of ["seeked", "timeupdate", "loadeddata", "pause"]) this.video.addEventListener(name, sync);
      this.video.addEventListener("play", () => { this.playButton.textContent = "❚❚ pause"; this.tick(); });
      this.video.addEventListener("pause", () => { this.playButton.textContent = "▶ play"; });
      this.video.addEventListener("ended", () => { this.playButton.textContent = "▶ play"; });
    }
    this.show(0);
  }

  frameOfTime(seconds) {
    return Math.max(0, Math.min(this.frames - 1, Math.floor(seconds * this.fps + 1e-3)));
  }

  timeOfFrame(frame) {
    return (frame + 0.5) / this.fps; // the middle of the frame's display interval: no rounding to a neighbour
  }

  // While playing, follow the video on every animation frame (timeupdate alone fires only every ~250 ms).
  tick() {
    if (!this.video || this.video.paused || this.video.ended) return;
    this.show(this.frameOfTime(this.video.currentTime));
    requestAnimationFrame(() => this.tick());
  }

  togglePlay() {
    if (!this.video) return;
    if (this.video.paused || this.video.ended) this.video.play();
    else this.video.pause();
  }

  seek(frame) {
    frame = Math.max(0, Math.min(this.frames - 1, Math.round(frame)));
    if (this.video) {
      this.video.pause();
      this.video.currentTime = this.timeOfFrame(frame);
    }
    this.show(frame);
  }

  show(frame) {
    this.frame = frame;
    this.slider.value = String(frame);
    this.readout.textContent = "frame " + frame + " / " + (this.frames - 1) + " · " + (frame / this.fps).toFixed(2) + " s";
    this.readout.dataset.frame = String(frame);
    for (const plot of this.plots) plot.setCursor(frame);
    for (const listener of this.listeners) listener(frame);
  }

  onFrame(listener) {
    this.listeners.push(listener);
  }
}
