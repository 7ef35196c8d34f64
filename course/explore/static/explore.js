// course explore: the page. It draws; the server (course/explore/server.py) computes every number
// it shows, with the course's NumPy network. No libraries, no build step: plain DOM, canvas, SVG.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const pad = $("pad");
const padCtx = pad.getContext("2d", {willReadFrequently: true});
const STROKE = 20;           // pen width on the 280-pixel pad: about 2 pixels once scaled to 20×20
const THROTTLE_MS = 60;      // while drawing, ask for a reading at most this often

const state = {
  network: null,    // GET /api/network
  result: null,     // the last POST /api/read answer
  selected: null,   // [layer, index] of the clicked neuron
  neurons: {},      // GET /api/neuron answers, by "layer/index"
  testDigit: null,  // the test digit on the pad, until the pad is drawn on
  inFlight: false, queued: false, lastSent: 0,
  drawing: false, last: null,
};

// --- colours ----------------------------------------------------------------------------------

// matplotlib's PiYG, as the course's plots use for weights: pink < 0 < green
const PIYG = [[142, 1, 82], [197, 27, 125], [222, 119, 174], [241, 182, 218], [253, 224, 239],
              [247, 247, 247], [230, 245, 208], [184, 225, 134], [127, 188, 65], [77, 146, 33], [39, 100, 25]];

function piyg(t) {  // t in [-1, 1] -> [r, g, b]
  const x = (Math.max(-1, Math.min(1, t)) + 1) / 2 * (PIYG.length - 1);
  const i = Math.min(PIYG.length - 2, Math.floor(x)), f = x - i;
  return PIYG[i].map((c, k) => Math.round(c + f * (PIYG[i + 1][k] - c)));
}

function rgb(c) { return `rgb(${c[0]}, ${c[1]}, ${c[2]})`; }

// --- talking to the server --------------------------------------------------------------------

async function api(path, body) {
  const options = body === undefined ? {} :
    {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    throw new Error("the explorer's server is not answering: was `course explore` stopped?");
  }
  const data = await response.json();
  if (!response.ok) {
    const error = new Error(data.error || `the server answered ${response.status}`);
    error.empty = Boolean(data.empty);
    throw error;
  }
  return data;
}

function status(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = "status" + (kind ? " " + kind : "");
}

// --- the drawing pad --------------------------------------------------------------------------

function padPoint(event) {
  const r = pad.getBoundingClientRect();
  return [(event.clientX - r.left) * pad.width / r.width, (event.clientY - r.top) * pad.height / r.height];
}

function strokeTo(point) {
  padCtx.strokeStyle = "white";
  padCtx.lineWidth = STROKE;
  padCtx.lineCap = padCtx.lineJoin = "round";
  padCtx.beginPath();
  padCtx.moveTo(state.last[0], state.last[1]);
  padCtx.lineTo(point[0], point[1]);
  padCtx.stroke();
  state.last = point;
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  state.drawing = true;
  state.testDigit = null;          // drawn on: from now on the pad itself is read
  state.last = padPoint(event);
  padCtx.fillStyle = "white";      // a click leaves a dot
  padCtx.beginPath();
  padCtx.arc(state.last[0], state.last[1], STROKE / 2, 0, 2 * Math.PI);
  padCtx.fill();
  requestReading();
});

pad.addEventListener("pointermove", (event) => {
  if (!state.drawing) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of (events.length ? events : [event])) strokeTo(padPoint(e));
  requestReading();
});

function endStroke() {
  if (!state.drawing) return;
  state.drawing = false;
  requestReading(true);
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function padAlpha() {  // the pad's ink: its alpha channel, one byte per pixel, base64
  const rgba = padCtx.getImageData(0, 0, pad.width, pad.height).data;
  const alpha = new Uint8Array(pad.width * pad.height);
  for (let i = 0; i < alpha.length; i++) alpha[i] = rgba[4 * i + 3];
  let binary = "";
  for (let i = 0; i < alpha.length; i += 8192) binary += String.fromCharCode.apply(null, alpha.subarray(i, i + 8192));
  return btoa(binary);
}

// Ask the server to read the pad: at most one request at a time, and the newest ink always wins.
function requestReading(now) {
  document.body.dataset.busy = "true";   // until the newest ink has been read (tests wait on it)
  if (state.inFlight) { state.queued = true; return; }
  const wait = THROTTLE_MS - (performance.now() - state.lastSent);
  if (!now && wait > 0) { state.queued = true; setTimeout(() => { if (state.queued && !state.inFlight) requestReading(true); }, wait); return; }
  state.queued = false;
  const body = state.testDigit ? {image: state.testDigit.image, preprocess: false}
                               : {width: pad.width, height: pad.height, alpha: padAlpha()};
  send(body);
}

async function send(body) {
  state.inFlight = true;
  state.lastSent = performance.now();
  try {
    show(await api("api/read", body));
  } catch (e) {
    if (e.empty) clearResult(); else status(e.message, "error");
  } finally {
    state.inFlight = false;
    if (state.queued) requestReading(true);
    else document.body.dataset.busy = "false";
  }
}

$("clear").addEventListener("click", () => {
  padCtx.clearRect(0, 0, pad.width, pad.height);
  state.testDigit = null;
  clearResult();
});

$("test-digit").addEventListener("click", async () => {
  try {
    const digit = await api("api/digit");
    state.testDigit = digit;
    const small = document.createElement("canvas");
    small.width = small.height = 28;
    const sctx = small.getContext("2d");
    const img = sctx.createImageData(28, 28);
    digit.image.flat().forEach((v, i) => { img.data.set([255, 255, 255, Math.round(255 * v)], 4 * i); });
    sctx.putImageData(img, 0, 0);
    padCtx.clearRect(0, 0, pad.width, pad.height);
    padCtx.imageSmoothingEnabled = true;
    padCtx.drawImage(small, 0, 0, pad.width, pad.height);
    requestReading(true);
  } catch (e) {
    status(e.message, "error");
  }
});

// --- the network picture ----------------------------------------------------------------------

const net = $("net");
const W = 760, H = 420, TOP = 24, BOTTOM = 404;
let columns = [];   // per layer after the input: {x, ys, r}

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function buildNetwork(info) {
  net.textContent = "";
  const layers = info.sizes.slice(1);
  const xs = layers.map((_, l) => 210 + l * (layers.length > 1 ? 320 / (layers.length - 1) : 0));
  columns = layers.map((n, l) => {
    const step = (BOTTOM - TOP) / n;
    return {x: xs[l], r: Math.max(2, Math.min(11, step * 0.4)),
            ys: Array.from({length: n}, (_, i) => TOP + step * (i + 0.5))};
  });
  el("g", {id: "edges"}, net);
  // the input column: the 28×28 image itself, 784 inputs
  el("text", {x: 70, y: 14, class: "column-title", "text-anchor": "middle"}, net).textContent = "input: 784 pixels";
  el("image", {id: "net-input", x: 14, y: 158, width: 112, height: 112, preserveAspectRatio: "none"}, net);
  el("rect", {x: 14, y: 158, width: 112, height: 112, class: "frame"}, net);
  const titles = layers.map((n, l) => l === layers.length - 1 ? `output: ${n}` : `hidden ${l + 1}: ${n}`);
  columns.forEach((c, l) => {
    el("text", {x: c.x, y: 14, class: "column-title", "text-anchor": "middle"}, net).textContent = titles[l];
    const g = el("g", {class: "layer", "data-layer": l + 1}, net);
    c.ys.forEach((y, i) => {
      const circle = el("circle", {cx: c.x, cy: y, r: c.r, class: "neuron", tabindex: 0,
                                   "data-layer": l + 1, "data-index": i, "data-value": ""}, g);
      el("title", {}, circle).textContent = `${titles[l].split(":")[0]}, neuron ${i}`;
      circle.addEventListener("click", () => selectNeuron(l + 1, i));
      circle.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") selectNeuron(l + 1, i); });
    });
  });
  // the outputs: a digit label and a bar each
  const out = columns[columns.length - 1];
  const bars = el("g", {id: "outputs"}, net);
  out.ys.forEach((y, i) => {
    el("text", {x: out.x - out.r - 8, y: y + 5, class: "digit-label", "text-anchor": "end"}, bars).textContent = i;
    el("rect", {x: out.x + out.r + 8, y: y - 7, width: 0, height: 14, rx: 3, class: "bar",
                "data-digit": i, "data-value": ""}, bars);
    el("text", {x: out.x + out.r + 12, y: y + 5, class: "bar-value", "data-digit": i}, bars).textContent = "";
  });
}

function layerScale(values, activation) {
  // sigmoid and softmax are already in [0, 1]; relu and linear are shown relative to the layer's largest
  if (activation === "sigmoid" || activation === "softmax") return 1;
  return Math.max(1e-12, ...values.map(Math.abs));
}

function show(result) {
  state.result = result;
  drawInput(result.input);
  const layers = result.layers;
  columns.forEach((c, l) => {
    const {values, activation} = layers[l];
    const scale = layerScale(values, activation);
    net.querySelectorAll(`circle.neuron[data-layer="${l + 1}"]`).forEach((circle, i) => {
      const g = Math.round(255 * Math.max(0, Math.min(1, values[i] / scale)));
      circle.style.fill = `rgb(${g}, ${g}, ${g})`;
      circle.dataset.value = String(values[i]);
      circle.querySelector("title").textContent = circle.querySelector("title").textContent.split(" · ")[0] +
        ` · activation ${values[i].toFixed(3)}`;
    });
  });
  drawEdges(result.edges);
  const out = layers[layers.length - 1];
  const outScale = layerScale(out.values, out.activation);
  net.querySelectorAll("#outputs rect.bar").forEach((bar, i) => {
    const v = out.values[i];
    bar.setAttribute("width", Math.max(0, 150 * v / outScale));
    bar.dataset.value = String(v);
    bar.classList.toggle("guess", i === result.guess);
  });
  net.querySelectorAll("#outputs text.bar-value").forEach((text, i) => {
    const v = out.values[i];
    text.setAttribute("x", columns[columns.length - 1].x + columns[columns.length - 1].r + 14 + Math.max(0, 150 * v / outScale));
    text.textContent = v.toFixed(2);
    text.classList.toggle("guess", i === result.guess);
  });
  net.querySelectorAll(`circle.neuron[data-layer="${columns.length}"]`).forEach((c, i) => c.classList.toggle("guess", i === result.guess));
  const label = state.testDigit ? ` (test digit #${state.testDigit.index}, labelled ${state.testDigit.label})` : "";
  status(`The network reads a ${result.guess}${label}.`, "guess");
  $("status").dataset.guess = result.guess;
  $("timing").textContent = `last reading: ${result.server_ms.toFixed(1)} ms on the server`;
  if (state.selected) selectNeuron(...state.selected, true);
}

function drawInput(input) {
  const canvas = $("input");
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(28, 28);
  input.flat().forEach((v, i) => { const g = Math.round(255 * v); img.data.set([g, g, g, 255], 4 * i); });
  ctx.putImageData(img, 0, 0);
  $("net-input").setAttribute("href", canvas.toDataURL());
}

function drawEdges(edges) {
  const g = $("edges");
  g.textContent = "";
  const byLayer = {};
  for (const [layer, , , v] of edges) byLayer[layer] = Math.max(byLayer[layer] || 0, Math.abs(v));
  for (const [layer, from, to, v] of edges) {
    const a = columns[layer - 2], b = columns[layer - 1];
    const strength = Math.abs(v) / (byLayer[layer] || 1);
    if (strength < 0.03) continue;
    el("line", {x1: a.x + a.r, y1: a.ys[from], x2: b.x - b.r, y2: b.ys[to],
                class: v >= 0 ? "edge pos" : "edge neg", "stroke-width": (0.6 + 3.4 * strength).toFixed(2),
                "stroke-opacity": (0.15 + 0.8 * strength).toFixed(2)}, g);
  }
  // the first hidden layer listens to all 784 pixels: a faint fan shows each neuron's activation
  const first = columns[0], a1 = state.result.layers[0];
  const scale = layerScale(a1.values, a1.activation);
  first.ys.forEach((y, i) => {
    const v = a1.values[i] / scale;
    if (v > 0.05) el("line", {x1: 126, y1: 214, x2: first.x - first.r, y2: y, class: "edge fan",
                             "stroke-opacity": (0.08 + 0.5 * v).toFixed(2)}, g);
  });
}

function clearResult() {
  state.result = null;
  const ctx = $("input").getContext("2d");
  ctx.fillStyle = "black";
  ctx.fillRect(0, 0, 28, 28);
  $("net-input").setAttribute("href", $("input").toDataURL());
  $("edges").textContent = "";
  net.querySelectorAll("circle.neuron").forEach((c) => { c.style.fill = ""; c.dataset.value = ""; c.classList.remove("guess"); });
  net.querySelectorAll("#outputs rect.bar").forEach((b) => { b.setAttribute("width", 0); b.dataset.value = ""; b.classList.remove("guess"); });
  net.querySelectorAll("#outputs text.bar-value").forEach((t) => { t.textContent = ""; });
  delete $("status").dataset.guess;
  status("Draw a digit from 0 to 9, large, in the middle of the box.");
}

// --- one neuron -------------------------------------------------------------------------------

function robustLimit(values) {  // the colour scale's end: a few extreme weights shouldn't wash out the rest
  const sorted = values.map(Math.abs).sort((a, b) => a - b);
  return Math.max(1e-12, sorted[Math.floor(0.99 * (sorted.length - 1))]);
}

function weightsCanvas(image, size, cls) {  // a 28×28 weight image in PiYG, symmetric around 0
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 28;
  canvas.className = cls;
  canvas.style.width = canvas.style.height = size + "px";
  const flat = image.flat();
  const limit = robustLimit(flat);
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(28, 28);
  flat.forEach((w, i) => img.data.set([...piyg(w / limit), 255], 4 * i));
  ctx.putImageData(img, 0, 0);
  return canvas;
}

function figure(canvas, caption) {
  const f = document.createElement("figure");
  const c = document.createElement("figcaption");
  c.innerHTML = caption;
  f.append(canvas, c);
  return f;
}

function layerName(layer) {
  return layer === columns.length ? "output" : `hidden layer ${layer}`;
}

async function selectNeuron(layer, index, quiet) {
  state.selected = [layer, index];
  net.querySelectorAll("circle.neuron").forEach((c) =>
    c.classList.toggle("selected", +c.dataset.layer === layer && +c.dataset.index === index));
  const key = `${layer}/${index}`;
  let info = state.neurons[key];   // a neuron's weights never change: ask once
  try {
    info = info || (state.neurons[key] = await api(`api/neuron?layer=${layer}&index=${index}`));
  } catch (e) {
    if (!quiet) status(e.message, "error");
    return;
  }
  const box = $("neuron");
  box.textContent = "";
  box.dataset.layer = layer;
  box.dataset.index = index;
  const h = document.createElement("h3");
  const name = layer === columns.length ? `output neuron ${index} (the digit ${index})` : `${layerName(layer)}, neuron ${index}`;
  h.textContent = name.charAt(0).toUpperCase() + name.slice(1);
  box.appendChild(h);
  const now = state.result ? state.result.layers[layer - 1].values[index] : null;
  const facts = document.createElement("p");
  facts.className = "subtle";
  facts.textContent = `${info.activation}(W @ a + b), bias b = ${info.bias.toFixed(2)}` +
    (now === null ? "" : `; its activation now: ${now.toFixed(3)}`);
  box.appendChild(facts);
  if (info.image) {
    const pictures = document.createElement("div");
    pictures.className = "pictures";
    pictures.appendChild(figure(weightsCanvas(info.image, 168, "weights-image"),
      "its 784 weights: ink on <span class=\"pos\">green</span> pixels excites it, ink on " +
      "<span class=\"neg\">pink</span> pixels inhibits it"));
    if (state.result) {  // weight × pixel: what each pixel of this digit adds to its z = W @ a + b
      const push = info.image.map((row, r) => row.map((w, c) => w * state.result.input[r][c]));
      pictures.appendChild(figure(weightsCanvas(push, 168, "push-image"),
        "weight × your pixels: these add up, with the bias, to its z"));
    }
    box.appendChild(pictures);
    return;
  }
  // a later layer: its weights from each neuron of the layer before, then the strongest of them
  const strip = document.createElement("div");
  strip.className = "weight-strip";
  const limit = Math.max(1e-12, ...info.weights.map(Math.abs));
  info.weights.forEach((w, i) => {
    const cell = document.createElement("span");
    cell.style.background = rgb(piyg(w / limit));
    cell.title = `from neuron ${i}: weight ${w.toFixed(2)}`;
    cell.textContent = i;
    strip.appendChild(cell);
  });
  const caption = document.createElement("p");
  caption.textContent = `Its ${info.weights.length} incoming weights, from the neurons of ${layerName(layer - 1)}:`;
  box.append(caption, strip);
  const feeders = document.createElement("div");
  feeders.className = "feeders";
  const title = document.createElement("p");
  title.textContent = `The ${info.feeders.length} neurons of ${layerName(layer - 1)} that feed it most:`;
  box.appendChild(title);
  for (const f of info.feeders) {
    const card = document.createElement("figure");
    card.className = "feeder";
    card.dataset.index = f.index;
    if (f.image) card.appendChild(weightsCanvas(f.image, 84, "feeder-image"));
    const cap = document.createElement("figcaption");
    cap.innerHTML = `neuron ${f.index}<br><span class="${f.weight >= 0 ? "pos" : "neg"}">weight ${f.weight >= 0 ? "+" : ""}${f.weight.toFixed(2)}</span>`;
    card.appendChild(cap);
    card.addEventListener("click", () => selectNeuron(layer - 1, f.index));
    feeders.appendChild(card);
  }
  box.appendChild(feeders);
}

// --- start ------------------------------------------------------------------------------------

api("api/network").then((info) => {
  state.network = info;
  $("network-name").textContent = `${info.name}: ${info.sizes.join("-")} neurons, ` +
    `${info.activations.join(", ").replace(/(\w+)(, \1)+/g, "$1")} activations`;
  buildNetwork(info);
  clearResult();
  document.body.dataset.ready = "true";
}).catch((e) => status(e.message, "error"));
